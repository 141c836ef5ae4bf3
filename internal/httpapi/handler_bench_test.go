package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cairndb/cairn/internal/command"
	"github.com/cairndb/cairn/internal/httpapi"
	"github.com/cairndb/cairn/internal/httpapi/httpapitest"
	"github.com/cairndb/cairn/internal/service"
)

// Allocations and CPU of the HTTP handler per request, against the
// in-memory httpapitest fake (no raft, no Pebble, no network), as
// `cairn bench --target http` sends them: GET /v1/kv?key=..., PUT
// /v1/kv/{key} with the raw value, and PUT /v1/kv with a JSON body;
// 256-byte values, keys key:%010d over 10k. The request is built once and
// reused (its body rewound) and the response goes to a reusable writer,
// so allocs/op is the handler's plus the fake's; BenchmarkFake* give the
// fake's share to subtract.
//
//	go test ./internal/httpapi -run '^$' -bench . -benchmem

type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) WriteHeader(s int) { w.status = s }
func (w *discardWriter) reset()            { clear(w.h); w.status, w.n = 0, 0 }

const benchKeys = 10_000

func benchKey(i int) string { return fmt.Sprintf("key:%010d", i%benchKeys) }

func loadedFake(b *testing.B) (*httpapitest.Service, http.Handler) {
	b.Helper()
	svc := httpapitest.NewService()
	val := bytes.Repeat([]byte("v"), 256)
	for i := range benchKeys {
		if _, err := svc.Put(context.Background(), &command.PutRequest{Key: []byte(benchKey(i)), Value: val}); err != nil {
			b.Fatal(err)
		}
	}
	return svc, httpapi.New(svc, httpapi.Options{})
}

// serve runs reqs round robin through h; rewind resets request i's body.
func serve(b *testing.B, h http.Handler, reqs []*http.Request, rewind func(i int), want int) {
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i % len(reqs)
		if rewind != nil {
			rewind(j)
		}
		w.reset()
		h.ServeHTTP(w, reqs[j])
		if w.status != want {
			b.Fatalf("status %d, want %d", w.status, want)
		}
		i++
	}
}

func BenchmarkHandlerGet(b *testing.B) {
	_, h := loadedFake(b)
	for _, q := range []string{"", "&consistency=stale"} {
		name := "linearizable"
		if q != "" {
			name = "stale"
		}
		b.Run(name, func(b *testing.B) {
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/v1/kv?key="+benchKey(i*37)+q, nil)
			}
			serve(b, h, reqs, nil, http.StatusOK)
		})
	}
}

func BenchmarkHandlerPutRaw(b *testing.B) {
	_, h := loadedFake(b)
	val := bytes.Repeat([]byte("w"), 256)
	reqs := make([]*http.Request, 256)
	bodies := make([]*bytes.Reader, len(reqs))
	for i := range reqs {
		bodies[i] = bytes.NewReader(val)
		reqs[i] = httptest.NewRequest("PUT", "/v1/kv/"+benchKey(i*37), bodies[i])
	}
	serve(b, h, reqs, func(i int) {
		bodies[i].Reset(val)
		reqs[i].Body = io.NopCloser(bodies[i])
	}, http.StatusOK)
}

func BenchmarkHandlerPutJSON(b *testing.B) {
	_, h := loadedFake(b)
	reqs := make([]*http.Request, 256)
	bodies := make([]*bytes.Reader, len(reqs))
	raw := make([][]byte, len(reqs))
	for i := range reqs {
		raw[i] = fmt.Appendf(nil, `{"key":%q,"value":%q}`, benchKey(i*37), bytes.Repeat([]byte("w"), 256))
		bodies[i] = bytes.NewReader(raw[i])
		reqs[i] = httptest.NewRequest("PUT", "/v1/kv", bodies[i])
	}
	serve(b, h, reqs, func(i int) {
		bodies[i].Reset(raw[i])
		reqs[i].Body = io.NopCloser(bodies[i])
	}, http.StatusOK)
}

// BenchmarkFakeRange and BenchmarkFakePut are the fake service alone: the
// part of the handler benchmarks' allocations that is not the handler's.
func BenchmarkFakeRange(b *testing.B) {
	svc, _ := loadedFake(b)
	ctx := context.Background()
	keys := make([][]byte, 256)
	for i := range keys {
		keys[i] = []byte(benchKey(i * 37))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := svc.Range(ctx, &command.RangeRequest{Key: keys[i%256]}, service.ReadOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkFakePut(b *testing.B) {
	svc, _ := loadedFake(b)
	ctx := context.Background()
	val := bytes.Repeat([]byte("w"), 256)
	keys := make([][]byte, 256)
	for i := range keys {
		keys[i] = []byte(benchKey(i * 37))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := svc.Put(ctx, &command.PutRequest{Key: keys[i%256], Value: val}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
