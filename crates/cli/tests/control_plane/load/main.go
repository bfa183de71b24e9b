// Command load sends authenticated HTTPS requests at a steady rate, as the clients of a
// control plane do, and counts what fails: the load of kubepki's CA rotation test.
//
// It reads a JSON spec (the first argument) of streams, runs until its standard input
// closes, then prints a JSON report. Every request opens a new TLS connection and reads its
// credentials from their files again, so a certificate or trust file that changes on disk
// is what the next request uses. A request goes to the stream's URLs in turn; when one
// refuses the connection or drops it before answering (a server restarting), the next URL
// is tried, as a load balancer does, and so is one that answers 503 (etcd electing a
// leader); when every URL was tried so, the round is tried again after 250 ms, up to four
// rounds. A stream with a readiness path (`/readyz`) also skips
// the servers whose readiness check does not answer "ok", as kubeadm's load balancer in
// front of the API servers does (its health check), since a restarting kube-apiserver
// accepts connections before its authorizer is ready. Any other error (a certificate refused either way, an
// HTTP status other than 2xx, an answer without the expected text) is a failure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stream is one kind of request, sent Rate times a second.
type Stream struct {
	Name    string            `json:"name"`
	URLs    []string          `json:"urls"`
	Method  string            `json:"method"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
	// Kubeconfig, when set, gives the CA, client certificate and key (its
	// certificate-authority-data, client-certificate-data, client-key-data).
	Kubeconfig string `json:"kubeconfig"`
	CA         string `json:"ca"`
	Cert       string `json:"cert"`
	Key        string `json:"key"`
	// Token is a file holding a bearer token.
	Token  string  `json:"token"`
	Expect string  `json:"expect"`
	Rate   float64 `json:"rate"`
	// Ready is the path of the servers' readiness check (`/readyz`), or empty for none.
	Ready string `json:"ready"`
}

// readiness is what the health checks last saw of each server (scheme://host).
type readiness struct {
	sync.Mutex
	ready map[string]bool
}

func server(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	return parsed.Scheme + "://" + parsed.Host
}

// watch checks base+path every 250 ms until stop closes.
func (r *readiness) watch(base, path string, stop <-chan struct{}) {
	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			// A load balancer's health check: reachability, not identity.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
	}
	for {
		ok := false
		if response, err := client.Get(base + path); err == nil {
			body, _ := io.ReadAll(response.Body)
			response.Body.Close()
			ok = response.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok"
		}
		r.Lock()
		r.ready[base] = ok
		r.Unlock()
		select {
		case <-stop:
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// order gives the URLs from start on, the servers last seen ready first, then the others
// (a server may have become ready since the last check).
func (r *readiness) order(urls []string, start int, checked bool) []string {
	all := make([]string, 0, len(urls))
	for i := range urls {
		all = append(all, urls[(start+i)%len(urls)])
	}
	if !checked {
		return all
	}
	r.Lock()
	defer r.Unlock()
	ready, others := []string{}, []string{}
	for _, u := range all {
		if r.ready[server(u)] {
			ready = append(ready, u)
		} else {
			others = append(others, u)
		}
	}
	return append(ready, others...)
}

// Failure is one failed request.
type Failure struct {
	AtMs  int64  `json:"at_ms"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

// Result is what one stream saw.
type Result struct {
	Name      string    `json:"name"`
	Ok        int       `json:"ok"`
	Failed    int       `json:"failed"`
	Failovers int       `json:"failovers"`
	FirstMs   int64     `json:"first_ms"`
	LastMs    int64     `json:"last_ms"`
	Failures  []Failure `json:"failures"`
}

type credentials struct {
	roots  *x509.CertPool
	pair   *tls.Certificate
	bearer string
}

func kubeconfigField(text, field string) ([]byte, error) {
	scanner := bufio.NewScanner(strings.NewReader(text))
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if value, found := strings.CutPrefix(line, field+":"); found {
			return base64.StdEncoding.DecodeString(strings.Trim(strings.TrimSpace(value), `"`))
		}
	}
	return nil, fmt.Errorf("no %s", field)
}

func (s *Stream) credentials() (*credentials, error) {
	var caPEM, certPEM, keyPEM []byte
	var err error
	if s.Kubeconfig != "" {
		text, err := os.ReadFile(s.Kubeconfig)
		if err != nil {
			return nil, err
		}
		if caPEM, err = kubeconfigField(string(text), "certificate-authority-data"); err != nil {
			return nil, err
		}
		if certPEM, err = kubeconfigField(string(text), "client-certificate-data"); err != nil {
			return nil, err
		}
		if keyPEM, err = kubeconfigField(string(text), "client-key-data"); err != nil {
			return nil, err
		}
	} else {
		if caPEM, err = os.ReadFile(s.CA); err != nil {
			return nil, err
		}
		if s.Cert != "" {
			if certPEM, err = os.ReadFile(s.Cert); err != nil {
				return nil, err
			}
			if keyPEM, err = os.ReadFile(s.Key); err != nil {
				return nil, err
			}
		}
	}
	c := &credentials{roots: x509.NewCertPool()}
	if !c.roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no CA certificate")
	}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("client pair: %w", err)
		}
		c.pair = &pair
	}
	if s.Token != "" {
		token, err := os.ReadFile(s.Token)
		if err != nil {
			return nil, err
		}
		c.bearer = strings.TrimSpace(string(token))
	}
	return c, nil
}

// unavailable is an answer 503 (Service Unavailable): etcd during a leader election
// ("RAFT NO LEADER"), kube-apiserver shutting down.
type unavailable struct{ text string }

func (u unavailable) Error() string { return u.text }

// restarting tells a server that is not there (refused, or dropped before answering) from
// one that answered with an error.
func restarting(err error) bool {
	var busy unavailable
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &busy)
}

func (s *Stream) once(c *credentials, url string) error {
	config := &tls.Config{RootCAs: c.roots, MinVersion: tls.VersionTLS12}
	if c.pair != nil {
		config.Certificates = []tls.Certificate{*c.pair}
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: config, DisableKeepAlives: true},
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	request, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewBufferString(s.Body))
	if err != nil {
		return err
	}
	for k, v := range s.Headers {
		request.Header.Set(k, v)
	}
	if c.bearer != "" {
		request.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return err
	}
	if response.StatusCode == http.StatusServiceUnavailable {
		return unavailable{fmt.Sprintf("HTTP 503: %.200s", body)}
	}
	if response.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %.200s", response.StatusCode, body)
	}
	if s.Expect != "" && !bytes.Contains(body, []byte(s.Expect)) {
		return fmt.Errorf("answer without %q: %.200s", s.Expect, body)
	}
	return nil
}

type tally struct {
	sync.Mutex
	Result
	next int
}

func (t *tally) send(s *Stream, r *readiness) {
	t.Lock()
	start := t.next
	t.next++
	t.Unlock()
	at := time.Now().UnixMilli()
	c, err := s.credentials()
	url := ""
	failovers := 0
	if err == nil {
		// Every server in turn; when none answered (all restarting or electing), again
		// after 250 ms, for at most a second, as etcd's and client-go's clients retry.
	rounds:
		for round := 0; round < 4; round++ {
			if round > 0 {
				time.Sleep(250 * time.Millisecond)
			}
			for _, u := range r.order(s.URLs, start, s.Ready != "") {
				url = u
				err = s.once(c, url)
				if err == nil || !restarting(err) {
					break rounds
				}
				failovers++
			}
		}
	}
	t.Lock()
	defer t.Unlock()
	if t.FirstMs == 0 {
		t.FirstMs = at
	}
	t.LastMs = at
	t.Failovers += failovers
	if err == nil {
		t.Ok++
	} else {
		t.Failed++
		t.Failures = append(t.Failures, Failure{AtMs: at, URL: url, Error: err.Error()})
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: load SPEC.json (stops when stdin closes)")
		os.Exit(2)
	}
	text, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var spec struct {
		Streams []Stream `json:"streams"`
	}
	if err := json.Unmarshal(text, &spec); err != nil {
		fmt.Fprintln(os.Stderr, "spec:", err)
		os.Exit(2)
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	checks := &readiness{ready: map[string]bool{}}
	watched := map[string]bool{}
	for _, s := range spec.Streams {
		if s.Ready == "" {
			continue
		}
		for _, u := range s.URLs {
			if base := server(u); !watched[base] {
				watched[base] = true
				go checks.watch(base, s.Ready, stop)
			}
		}
	}
	tallies := make([]*tally, len(spec.Streams))
	var running, inFlight sync.WaitGroup
	for i := range spec.Streams {
		s := &spec.Streams[i]
		t := &tally{Result: Result{Name: s.Name, Failures: []Failure{}}}
		tallies[i] = t
		running.Add(1)
		go func() {
			defer running.Done()
			ticker := time.NewTicker(time.Duration(float64(time.Second) / s.Rate))
			defer ticker.Stop()
			for {
				select {
				case <-stop:
					return
				case <-ticker.C:
					inFlight.Add(1)
					go func() {
						defer inFlight.Done()
						t.send(s, checks)
					}()
				}
			}
		}()
	}
	fmt.Fprintln(os.Stderr, "load: running")
	running.Wait()
	inFlight.Wait()
	results := make([]Result, len(tallies))
	for i, t := range tallies {
		results[i] = t.Result
	}
	out, _ := json.Marshal(results)
	fmt.Println(string(out))
}
