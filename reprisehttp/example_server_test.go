package reprisehttp_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/reprisehttp"
)

// An http.Handler served over reprise: HTTP/2 or HTTP/1.1 as the client's
// ALPN chooses, with Request.TLS filled as for crypto/tls, and reprise's
// own state (how the connection resumed, or why not) a call away.
func ExampleServer() {
	cert, err := reprise.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _ := reprisehttp.ConnectionState(r)
		fmt.Fprintf(w, "%s over %s, ALPN %q, resumption %s\n",
			r.Proto, tls.VersionName(r.TLS.Version), r.TLS.NegotiatedProtocol, st.Resumption)
	})
	srv := &reprisehttp.Server{
		HTTP: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second},
		TLS:  &reprise.Config{Certificates: []reprise.Certificate{cert}}, // offers h2 and http/1.1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.HTTP.Close()

	fetch(ln.Addr().String())
	// Output: HTTP/2.0 over TLS 1.3, ALPN "h2", resumption none
}

// fetch gets the page with Go's own HTTP/2 client, over crypto/tls.
func fetch(addr string) {
	pem, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
}
