// The Go floor peer: the least a long-poll snapshot server written with Go's net/http can do
// per connection (one goroutine per connection, as net/http serves). Go is what the peers
// named in issue 17 are written in (OPA and its bundle servers, the OPA Control Plane, Cerbos),
// so this is the per-connection cost of their stack, without their work. Same routes as the
// Rust floor (bench/server/src/floor.rs): GET /v1/snapshot (ETag, If-None-Match, ?wait=),
// POST /publish, GET /parked, POST /v1/audit (parse, append, fsync). Standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type state struct {
	mu      sync.Mutex
	version uint64
	body    []byte
	changed chan struct{} // closed and replaced on every publish
}

func bodyOf(version uint64, n int) []byte {
	b := []byte(fmt.Sprintf("v%d.", version))
	for len(b) < n {
		b = append(b, 'x')
	}
	return b
}

func main() {
	bodyBytes := flag.Int("body-bytes", 1024, "size of the snapshot body")
	dir := flag.String("dir", os.TempDir(), "folder for the audit file")
	flag.Parse()
	audit, err := os.OpenFile(filepath.Join(*dir, "audit.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var auditMu sync.Mutex
	s := &state{version: 1, body: bodyOf(1, *bodyBytes), changed: make(chan struct{})}
	var parked atomic.Int64

	http.HandleFunc("/v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
		if wait > 60 {
			wait = 60
		}
		known := r.Header.Get("If-None-Match")
		s.mu.Lock()
		v, body, ch := s.version, s.body, s.changed
		s.mu.Unlock()
		if known == fmt.Sprintf("\"%d\"", v) && wait > 0 {
			parked.Add(1)
			t := time.NewTimer(time.Duration(wait) * time.Second)
			select {
			case <-ch:
			case <-t.C:
			case <-r.Context().Done():
			}
			t.Stop()
			parked.Add(-1)
			s.mu.Lock()
			v, body = s.version, s.body
			s.mu.Unlock()
		}
		tag := fmt.Sprintf("\"%d\"", v)
		w.Header().Set("ETag", tag)
		w.Header().Set("X-Act-Snapshot-Version", strconv.FormatUint(v, 10))
		if known == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	})
	http.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.version++
		v := s.version
		s.body = bodyOf(v, *bodyBytes)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		fmt.Fprintf(w, "{\"version\":%d}", v)
	})
	http.HandleFunc("/parked", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "{\"parked\":%d}", parked.Load())
	})
	http.HandleFunc("/v1/audit", func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		var records []json.RawMessage
		if err == nil {
			err = json.Unmarshal(raw, &records)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := make([]byte, 0, len(raw)+len(records))
		for _, rec := range records {
			var v any
			if json.Unmarshal(rec, &v) != nil {
				http.Error(w, "bad record", http.StatusBadRequest)
				return
			}
			line, _ := json.Marshal(v)
			out = append(append(out, line...), '\n')
		}
		auditMu.Lock()
		_, err = audit.Write(out)
		if err == nil {
			err = audit.Sync()
		}
		auditMu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "{\"accepted\":%d,\"duplicates\":0,\"gaps\":0}", len(records))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("go floor: listening on http://%s\n", ln.Addr())
	// GOMAXPROCS defaults to the cores, as the Rust servers run 2 workers on 2 cores.
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
