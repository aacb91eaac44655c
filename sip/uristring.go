package sip

import (
	"bytes"

	"github.com/emiago/sipgo/sip"
)

// uriString is sip.Uri.String in one allocation: the direct response
// writer's writeURI (directresponse.go) prints into a pooled buffer and
// only the string is new. sipgo's builds the string in a growing builder
// and, to decide whether the host needs brackets, runs net.ParseIP over
// every host, which allocates an error for a domain name: five or six
// allocations per URI, and REGISTER turns two URIs (the Request-URI for
// the digest check and the Contact for the binding) into strings. The
// output is sipgo's, byte for byte (TestURIStringMatchesSipgo).
func uriString(u *sip.Uri) string {
	buf := responseBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	writeURI(buf, u)
	s := buf.String()
	if buf.Cap() <= 64<<10 {
		responseBuffers.Put(buf)
	}
	return s
}
