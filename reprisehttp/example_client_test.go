package reprisehttp_test

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/reprisehttp"
)

// An http.Client whose connections are reprise's: HTTP/2 or HTTP/1.1 as
// the server's ALPN answer says, Response.TLS filled, and each new
// connection resuming the last one's session.
func ExampleNewClient() {
	server := helloServer() // any HTTPS server; here crypto/tls's, with HTTP/2
	defer server.Close()
	roots := x509.NewCertPool()
	roots.AddCert(server.Certificate())

	client := reprisehttp.NewClient(&reprise.Config{RootCAs: roots, ServerName: "example.com"})
	for range 2 {
		resp, err := client.Get(server.URL)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Proto, "resumed:", resp.TLS.DidResume)
		client.CloseIdleConnections() // the next request makes a new connection
	}
	// Output:
	// HTTP/2.0 resumed: false
	// HTTP/2.0 resumed: true
}

// helloServer is an httptest server (crypto/tls) that speaks HTTP/2.
func helloServer() *httptest.Server {
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	server.EnableHTTP2 = true
	server.StartTLS()
	return server
}
