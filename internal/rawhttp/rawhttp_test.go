package rawhttp

import (
	"bufio"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	in := "HTTP/1.1 100 Continue\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nX-Remote-User:  alice \t\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 3\r\n\r\nabc" +
		"HTTP/1.1 302 Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" // answers a HEAD
	br := bufio.NewReader(strings.NewReader(in))
	r, err := Read(br, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Body != "abc" || r.Close || r.Values("x-remote-user")[0] != "  alice \t" ||
		!reflect.DeepEqual(r.Values("Set-Cookie"), []string{" a=1", " b=2"}) ||
		r.Header().Get("X-Remote-User") != "alice" || len(r.Lines) != 6 || r.Lines[1] != "X-Remote-User:  alice \t\r\n" {
		t.Errorf("first answer %+v", r)
	}
	if r, err = Read(br, true); err != nil || r.Status != 302 || r.Body != "" || !r.Close {
		t.Errorf("HEAD answer %+v, %v", r, err)
	}
	if _, err = Read(br, false); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	for _, bad := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nX: 1\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
		"SSH-2.0\r\n\r\n",
	} {
		if r, err := Read(bufio.NewReader(strings.NewReader(bad)), false); err == nil || err == io.EOF {
			t.Errorf("%q: %+v, %v, want an error", bad, r, err)
		}
	}
}
