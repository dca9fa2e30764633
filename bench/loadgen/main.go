// The benchmarks' HTTP load generator (bench/lib/load.ts builds and runs it).
// Reads LoadOptions as JSON on stdin, prints a LoadResult as JSON on stdout.
//
// Why not a Node client: on a 2-core machine the client shares the CPU with
// the server it measures. An undici client took a whole core at the bare
// server's rate, and its open loop had to spin, because Node's timers cannot
// sleep for less than a millisecond. Why not an existing tool: wrk2, the usual
// open-loop generator, is in none of the registries the project installs from;
// vegeta and fortio are, but they time a request from when it was sent, so a
// stall that delays sending hides its own cost (coordinated omission).
//
// Each connection is one goroutine with one request in flight, HTTP/1.1
// keep-alive. Closed loop: the next request goes when the answer is in. Open
// loop (rate > 0), as wrk2 does it: each connection has its own schedule of
// rate/concurrency requests a second, staggered across connections; a request
// is sent at its due time or, if its connection is still busy, as soon as it
// is free, and its latency counts from when it was due.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

type options struct {
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Headers      map[string]string `json:"headers"`
	Body         *string           `json:"body"`
	Concurrency  int               `json:"concurrency"`
	WarmupMs     float64           `json:"warmupMs"`
	RunMs        float64           `json:"runMs"`
	Runs         int               `json:"runs"`
	ExpectStatus int               `json:"expectStatus"`
	Insecure     bool              `json:"insecure"`
	CA           string            `json:"ca"`
	Rate         float64           `json:"rate"`
	ExpectBody   *string           `json:"expectBody"`
}

type result struct {
	OpsPerSec  float64   `json:"opsPerSec"`
	P50Ms      float64   `json:"p50Ms"`
	P99Ms      float64   `json:"p99Ms"`
	Runs       []float64 `json:"runs"`
	Requests   int       `json:"requests"`
	Errors     int       `json:"errors"`
	Unexpected int       `json:"unexpected"`
	FirstError string    `json:"firstError,omitempty"`
	Sample     string    `json:"sample,omitempty"`
}

// What one connection saw in the measured runs.
type tally struct {
	latencies  []float64
	perRun     []int
	errors     int
	unexpected int
	firstError string
	sample     string
}

type target struct {
	addr    string
	tls     *tls.Config
	request []byte
}

type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func (t *target) dial() (*conn, error) {
	c, err := net.DialTimeout("tcp", t.addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if t.tls != nil {
		tc := tls.Client(c, t.tls)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 32<<10)}, nil
}

// One request and its whole answer. A broken or closing connection is
// dropped; the next request dials a new one.
func (t *target) do(cn **conn, body *bytes.Buffer) (int, error) {
	if *cn == nil {
		c, err := t.dial()
		if err != nil {
			return 0, err
		}
		*cn = c
	}
	c := *cn
	fail := func(err error) (int, error) {
		c.c.Close()
		*cn = nil
		return 0, err
	}
	if _, err := c.c.Write(t.request); err != nil {
		return fail(err)
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return fail(err)
	}
	body.Reset()
	_, err = body.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return fail(err)
	}
	if res.Close {
		c.c.Close()
		*cn = nil
	}
	return res.StatusCode, nil
}

func parseTarget(o *options) (*target, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, err
	}
	t := &target{addr: u.Host}
	switch u.Scheme {
	case "http":
	case "https":
		cfg := &tls.Config{InsecureSkipVerify: o.Insecure, ServerName: u.Hostname()}
		if o.CA != "" {
			pem, err := os.ReadFile(o.CA)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", o.CA)
			}
			// the bench's certificates are issued to localhost, the server listens on 127.0.0.1
			cfg.RootCAs, cfg.ServerName = pool, "localhost"
		}
		t.tls = cfg
	default:
		return nil, fmt.Errorf("%s: only http and https", o.URL)
	}
	method := o.Method
	if method == "" {
		method = "GET"
		if o.Body != nil {
			method = "POST"
		}
	}
	var b strings.Builder
	path := u.RequestURI()
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, u.Host)
	for k, v := range o.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if o.Body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(*o.Body), *o.Body)
	} else {
		b.WriteString("\r\n")
	}
	t.request = []byte(b.String())
	return t, nil
}

// Nearest rank, as bench/lib/stats.ts computes it.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func run(o *options) (*result, error) {
	t, err := parseTarget(o)
	if err != nil {
		return nil, err
	}
	if o.Concurrency < 1 || o.Runs < 1 || o.RunMs <= 0 {
		return nil, fmt.Errorf("concurrency, runs and runMs must be positive")
	}
	expect := o.ExpectStatus
	if expect == 0 {
		expect = 200
	}
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	start := time.Now()
	measured := start.Add(ms(o.WarmupMs))
	end := measured.Add(ms(o.RunMs * float64(o.Runs)))
	// The run a completion falls in; -1 in the warm-up, o.Runs after the end
	// (its latency counts, the rate of no run does).
	runOf := func(at time.Time) int {
		if at.Before(measured) {
			return -1
		}
		return min(int(at.Sub(measured)/ms(o.RunMs)), o.Runs)
	}
	var wantBody []byte
	if o.ExpectBody != nil {
		wantBody = []byte(*o.ExpectBody)
	}
	var interval time.Duration
	if o.Rate > 0 {
		interval = time.Duration(float64(o.Concurrency) / o.Rate * float64(time.Second))
	}

	tallies := make([]tally, o.Concurrency)
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tl := &tallies[w]
			tl.perRun = make([]int, o.Runs)
			var cn *conn
			var body bytes.Buffer
			next := start.Add(interval * time.Duration(w) / time.Duration(o.Concurrency))
			for {
				due := time.Now()
				if interval > 0 {
					due, next = next, next.Add(interval)
					if !due.Before(end) {
						break
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					}
				} else if !due.Before(end) {
					break
				}
				status, err := t.do(&cn, &body)
				done := time.Now()
				r := runOf(done)
				if r < 0 {
					continue
				}
				switch {
				case err != nil:
					tl.errors++
					if tl.firstError == "" {
						tl.firstError = err.Error()
					}
				case status != expect:
					tl.errors++
					if tl.firstError == "" {
						tl.firstError = fmt.Sprintf("HTTP %d: %.200s", status, body.String())
					}
				default:
					if tl.sample == "" {
						tl.sample = body.String()
					}
					if wantBody != nil && !bytes.Contains(body.Bytes(), wantBody) {
						tl.unexpected++
					}
				}
				tl.latencies = append(tl.latencies, float64(done.Sub(due))/float64(time.Millisecond))
				if r < o.Runs {
					tl.perRun[r]++
				}
			}
			if cn != nil {
				cn.c.Close()
			}
		}(w)
	}
	wg.Wait()

	res := &result{Runs: make([]float64, o.Runs)}
	var lat []float64
	for i := range tallies {
		tl := &tallies[i]
		lat = append(lat, tl.latencies...)
		for r, n := range tl.perRun {
			res.Runs[r] += float64(n) * 1000 / o.RunMs
		}
		res.Errors += tl.errors
		res.Unexpected += tl.unexpected
		if res.FirstError == "" {
			res.FirstError = tl.firstError
		}
		if res.Sample == "" {
			res.Sample = tl.sample
		}
	}
	sort.Float64s(lat)
	res.OpsPerSec = median(res.Runs)
	res.P50Ms = percentile(lat, 50)
	res.P99Ms = percentile(lat, 99)
	res.Requests = len(lat)
	if len(res.Sample) > 2000 {
		res.Sample = res.Sample[:2000]
	}
	return res, nil
}

func main() {
	// Few, short collections: a pause would be counted as the server's latency.
	debug.SetGCPercent(400)
	var o options
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = json.Unmarshal(in, &o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: options on stdin:", err)
		os.Exit(2)
	}
	res, err := run(&o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(1)
	}
}
