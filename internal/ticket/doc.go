// Package ticket protects resumption state in RFC 5077 session tickets and
// manages the keys that do so: an ordered key ring (the first key seals, every
// key opens), automatic rotation for a single server, and the ticket key files
// that nginx and HAProxy read, so that one fleet can share keys across all
// three.
//
// # Ticket format
//
// A ticket is
//
//	key_name [16] | IV [16] | AES-CBC(state, PKCS#7 padding) | HMAC-SHA256 [32]
//
// where the MAC covers every byte before it (encrypt-then-MAC). This is the
// layout recommended by RFC 5077, Section 4, with one deliberate difference:
// the RFC's struct carries a two-byte length before encrypted_state and feeds
// it to the MAC, but OpenSSL (and therefore nginx and HAProxy, which only hand
// it keys) writes no length and MACs key_name | IV | ciphertext directly
// (ssl/t1_lib.c tls_decrypt_ticket: HMAC over etick[0:eticklen-mlen]). We
// follow OpenSSL so that the same key file produces tickets that every node in
// a mixed fleet (nginx, HAProxy and reprise) can open. The ciphertext length
// is implied by the ticket length, so nothing is lost.
//
// AES-128-CBC with a 16-byte HMAC key, or AES-256-CBC with a 32-byte HMAC key,
// is chosen per key from its size, as nginx and HAProxy do.
//
// # Security contract
//
// The ticket given to Ring.Open is attacker-controlled. Open never panics,
// allocates at most the ticket's length, verifies the MAC with hmac.Equal
// before it decrypts anything, and reports the outcome as a Status rather than
// an error: an unknown or forged ticket is an ordinary decline (a full
// handshake), never a failure of the connection. The keys are secrets: whoever
// holds them can read every session sealed with them and mint sessions, so
// key files must be readable only by the server.
package ticket
