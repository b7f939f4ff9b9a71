package rawhttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Request writes "method target HTTP/1.1", a Host header, each of headers
// as a line of its own (a whole "Name: value", unchecked), and the empty
// line that ends the head.
func Request(method, target, host string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// Field is one header line of an answer.
type Field struct {
	Name  string // as received
	Value string // all that follows the colon, as received (the separating space included), the line ending removed
}

// Response is one answer, as received.
type Response struct {
	Status int
	Lines  []string // the head line by line, the status line first and the empty line last, line endings included
	Fields []Field  // the header lines in order
	Body   string
	Close  bool // the server said it closes the connection after this answer (Connection: close, or HTTP/1.0 without keep-alive)
}

// Raw is the head as received.
func (r *Response) Raw() string { return strings.Join(r.Lines, "") }

// Values returns the raw values of every field called name (in any case),
// in order.
func (r *Response) Values(name string) []string {
	var vs []string
	for _, f := range r.Fields {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Header returns the fields as net/http would: canonical names, and values
// with spaces and tabs trimmed at both ends.
func (r *Response) Header() http.Header {
	h := http.Header{}
	for _, f := range r.Fields {
		h.Add(f.Name, strings.Trim(f.Value, " \t"))
	}
	return h
}

// maxHead and maxBody bound what Read accepts from a broken server.
const (
	maxHead = 1 << 20
	maxBody = 1 << 20
)

// Read reads one answer off br, and nothing past it, so that pipelined
// answers stay in br; head says it answers a HEAD request. io.EOF means
// that the connection ended cleanly before an answer began.
func Read(br *bufio.Reader, head bool) (*Response, error) {
	r := &Response{}
	size := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if line == "" && len(r.Lines) == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("answer cut short after %q%q: %w", r.Raw(), line, err)
		}
		if size += len(line); size > maxHead {
			return nil, errors.New("answer head over 1 MB")
		}
		r.Lines = append(r.Lines, line)
		text := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if text == "" {
			break
		}
		if len(r.Lines) == 1 {
			f := strings.SplitN(text, " ", 3)
			if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
				return nil, fmt.Errorf("bad status line %q", line)
			}
			if r.Status, err = strconv.Atoi(f[1]); err != nil || len(f[1]) != 3 {
				return nil, fmt.Errorf("bad status line %q", line)
			}
			r.Close = f[0] == "HTTP/1.0"
			continue
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok || name == "" || strings.ContainsAny(name[:1], " \t") {
			return nil, fmt.Errorf("bad head line %q in %q", line, r.Raw())
		}
		r.Fields = append(r.Fields, Field{name, value})
		if strings.EqualFold(name, "Connection") {
			switch strings.ToLower(strings.Trim(value, " \t")) {
			case "close":
				r.Close = true
			case "keep-alive":
				r.Close = false
			}
		}
	}
	if r.Status == 100 {
		return Read(br, head)
	}
	if head || r.Status < 200 || r.Status == 204 || r.Status == 304 {
		return r, nil
	}
	cl := r.Values("Content-Length")
	if len(cl) != 1 {
		return nil, fmt.Errorf("answer without one Content-Length (chunked bodies are not read): %q", r.Raw())
	}
	n, err := strconv.Atoi(strings.Trim(cl[0], " \t"))
	if err != nil || n < 0 || n > maxBody {
		return nil, fmt.Errorf("bad Content-Length in %q", r.Raw())
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, fmt.Errorf("body cut short after %q: %w", r.Raw(), err)
	}
	r.Body = string(b)
	return r, nil
}

// Closed says whether err is the server ending the connection (as opposed
// to, say, the client's deadline running out).
func Closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Conn is a client connection: write raw bytes on it (it is a net.Conn),
// read answers with Read.
type Conn struct {
	net.Conn
	R *bufio.Reader
}

// Dial connects to addr on network ("tcp" or "unix").
func Dial(network, addr string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, R: bufio.NewReader(c)}, nil
}

// Read reads the next answer; head says it answers a HEAD request.
func (c *Conn) Read(head bool) (*Response, error) { return Read(c.R, head) }

// RoundTrip writes req and reads its answer (none for HEAD requests).
func (c *Conn) RoundTrip(req string) (*Response, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	return c.Read(strings.HasPrefix(req, "HEAD "))
}

// CloseWrite half-closes the connection: the server reads the end of the
// request stream and may still answer.
func (c *Conn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("%T cannot half-close", c.Conn)
	}
	return cw.CloseWrite()
}
