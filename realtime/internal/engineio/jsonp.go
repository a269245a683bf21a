package engineio

import (
	"encoding/json"
	"net/url"
	"strings"
)

// JSONP polling (socket.io-client 2.x in browsers without XHR): a poll is
// answered with a script, ___eio[j]("<payload>"), and data arrives as a form
// body d=<payload>.

// jsonpIndex keeps only the digits of the j parameter, as Node does, so
// nothing but a number reaches the script.
func jsonpIndex(j string) string {
	var b strings.Builder
	for i := 0; i < len(j); i++ {
		if j[i] >= '0' && j[i] <= '9' {
			b.WriteByte(j[i])
		}
	}
	return b.String()
}

// encodeJSONP wraps a text payload in the script a JSONP poll expects. The
// payload becomes a JavaScript string literal: JSON's escaping, which in Go
// also escapes <, > and & (so "</script>" cannot end a script element) and
// U+2028 and U+2029 (line terminators in older JavaScript).
func encodeJSONP(dst []byte, index string, payload []byte) []byte {
	lit, _ := json.Marshal(string(payload)) // a string always marshals
	dst = append(dst, "___eio["...)
	dst = append(dst, index...)
	dst = append(dst, "]("...)
	dst = append(dst, lit...)
	return append(dst, ");"...)
}

// decodeJSONPBody returns the payload of a JSONP POST body (d=...). The
// client escapes newlines so that user agents do not turn them into CRLF:
// a newline arrives as \n (backslash, n) and an escaped \n as \\n; undo
// both, as Node's engine.io does.
func decodeJSONPBody(body []byte) ([]byte, bool) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	d, ok := form["d"]
	if !ok || len(d) != 1 {
		return nil, false
	}
	return unescapeJSONPNewlines(d[0]), true
}

func unescapeJSONPNewlines(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'n' {
				out = append(out, '\\', 'n')
				i += 2
				continue
			}
			if i+1 < len(s) && s[i+1] == 'n' {
				out = append(out, '\n')
				i++
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}
