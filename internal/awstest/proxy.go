package awstest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Always, passed as the count to [Proxy.Fail], applies the fault to every
// matching call until [Proxy.ClearFaults].
const Always = -1

// Call is one HTTP request the proxy received, that is, one attempt of an SDK
// operation: a call the SDK retried twice appears three times.
type Call struct {
	// Service is the SigV4 signing name of the service, such as "ecs",
	// "ssm", "ecr", "events", "sts" or "ec2".
	Service string
	// Operation is the bare operation name, such as "DescribeServices".
	Operation string
	// Request is the request body, for asserting what was sent.
	Request []byte
	// Start is when the proxy received the request, End when it finished
	// answering it (zero while the call is in flight).
	Start, End time.Time
	// Status is the HTTP status the client got, or 0 if the connection was
	// dropped or the client went away.
	Status int
	// Forwarded reports whether the request reached moto.
	Forwarded bool
	// Fault reports whether an injected fault changed this call.
	Fault bool
	// Throttled reports whether the proxy's throttling mode answered this
	// call ThrottlingException (see [Proxy.Throttle]).
	Throttled bool
}

// ReadOnly reports whether the operation only reads, judged by the AWS naming
// convention (Describe*, Get*, List*, BatchGet*) and DynamoDB's reads that
// it does not follow (Query, Scan). Use it to assert that a dry run made no
// mutating call.
func (c Call) ReadOnly() bool {
	if c.Operation == "Query" || c.Operation == "Scan" {
		return true
	}
	for _, prefix := range []string{"Describe", "Get", "List", "BatchGet"} {
		if strings.HasPrefix(c.Operation, prefix) {
			return true
		}
	}
	return false
}

// Claim reports whether the call takes or gives up a claim on an
// environment in the state table (a DynamoDB UpdateItem of the claim's
// attributes alone): it changes neither what runs nor what is recorded.
func (c Call) Claim() bool {
	return c.Operation == "UpdateItem" && bytes.Contains(c.Request, []byte("claimOwner")) && !bytes.Contains(c.Request, []byte(`"record"`))
}

// Fault is what the proxy does to a call instead of, or after, forwarding it
// to moto. The steps are applied in order: wait Delay, then drop the
// connection if Drop, else answer an AWS error if Status is set, else forward
// (or, with AfterForward, return moto's answer).
type Fault struct {
	// Delay holds the call this long before answering. The wait ends early
	// if the client goes away, so a Delay longer than the client's timeout
	// simulates a hung call.
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Status is the HTTP status of an AWS error answer, such as 400 or 503.
	Status int
	// Code is the AWS error code, such as "ThrottlingException". It is
	// sent in the error shape of the caller's protocol: JSON with
	// X-Amzn-ErrorType for JSON services, XML for query services.
	Code string
	// Message is the error message; a default is used if empty.
	Message string
	// AfterForward forwards the call to moto first, so it takes effect,
	// and applies the fault to the answer: the client sees a failure of a
	// call that succeeded.
	AfterForward bool
}

// Throttling returns a fault that answers 400 ThrottlingException, which the
// SDK retries.
func Throttling() Fault {
	return Fault{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"}
}

// ServerError returns a fault that answers the given 5xx status, with the
// error code AWS uses for it (InternalFailure, or ServiceUnavailable for
// 503), which the SDK retries.
func ServerError(status int) Fault {
	code := "InternalFailure"
	if status == http.StatusServiceUnavailable {
		code = "ServiceUnavailable"
	}
	return Fault{Status: status, Code: code, Message: http.StatusText(status)}
}

// AWSError returns a fault that answers an AWS error with the given HTTP
// status, error code and message.
func AWSError(status int, code, message string) Fault {
	return Fault{Status: status, Code: code, Message: message}
}

// DropConnection returns a fault that closes the connection after reading the
// request, without an answer.
func DropConnection() Fault {
	return Fault{Drop: true}
}

// Delay returns a fault that holds the call for d and then forwards it.
func Delay(d time.Duration) Fault {
	return Fault{Delay: d}
}

type queuedFault struct {
	fault Fault
	left  int // Always for unlimited
}

type hook struct {
	op string
	fn func(Call)
}

// Proxy is an http.Handler that forwards AWS SDK requests to moto, counts
// them by operation and injects latency and faults. Operations are named
// bare ("DescribeServices") or qualified with the signing name
// ("ecs:DescribeServices"), or "*" for any. It is safe for concurrent use.
type Proxy struct {
	target    string
	transport *http.Transport
	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	log        []Call
	latency    time.Duration
	callTime   time.Duration
	faults     map[string][]*queuedFault
	before     []hook
	onCall     []func(Call)
	intercepts []intercept
	buckets    *Buckets

	accounts accountCache
}

// NewProxy returns a proxy that forwards to the moto server at target, such
// as [Moto.URL]. Serve it with httptest.NewServer and call [Proxy.Close]
// before closing the server.
func NewProxy(target string) *Proxy {
	p := &Proxy{
		target:    strings.TrimSuffix(target, "/"),
		transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true},
		closed:    make(chan struct{}),
		faults:    make(map[string][]*queuedFault),
	}
	serializeDynamoDBWrites(p) // conditional writes atomic, as DynamoDB's are
	return p
}

// Close ends every injected wait in progress and closes idle connections to
// moto, so that the server in front of the proxy can shut down promptly.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.transport.CloseIdleConnections()
	})
}

// SetLatency adds d before every call is forwarded; 0 removes it.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// SetCallTime makes every call take d in all, moto's own time included:
// the proxy forwards the call at once and holds moto's answer until d after
// the call arrived (a call that moto takes longer over takes what moto
// took). Unlike [Proxy.SetLatency], which adds d to moto's time, it models
// AWS, where d is the whole round trip and concurrent calls are served in
// parallel, so that wall time divided by d counts the calls that waited on
// each other. Faults apply as with SetLatency, after a wait of d. 0 turns
// it off.
func (p *Proxy) SetCallTime(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.callTime = d
}

// serveInTime serves a call that is to take d in all (SetCallTime).
func (p *Proxy) serveInTime(ctx context.Context, w http.ResponseWriter, r *http.Request, call Call, body []byte, d time.Duration) result {
	fault, ok := p.takeFault(call)
	if ok {
		if !p.sleep(ctx, d) {
			return result{}
		}
		res := p.serve(ctx, w, r, call, body, fault, ok)
		res.fault = true
		return res
	}
	buf := &bufferedWriter{header: http.Header{}}
	res := p.serve(ctx, buf, r, call, body, Fault{}, false)
	if !p.sleep(ctx, time.Until(call.Start.Add(d))) {
		return result{forwarded: res.forwarded}
	}
	buf.copyTo(w)
	return res
}

// bufferedWriter holds an answer until it is due.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, vs := range b.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}

// Fail applies fault to the next n calls of op (or to all of them if n is
// [Always]). Faults queued for the same op apply one after the other, in the
// order they were added; a fault for a qualified op ("ecs:UpdateService")
// takes precedence over one for the bare op, which takes precedence over "*".
func (p *Proxy) Fail(op string, n int, fault Fault) {
	if n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[op] = append(p.faults[op], &queuedFault{fault: fault, left: n})
}

// ClearFaults removes every queued fault, the latency and the call time.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = make(map[string][]*queuedFault)
	p.latency, p.callTime = 0, 0
}

// Before runs fn each time a call of op arrives, before latency, faults and
// forwarding, so that a test can change moto's state between the calls of
// the code under test. fn runs on the proxy's goroutine: it must not call
// t.Fatal (nor [Must], which does); use [Env.Local], or clients built from
// its Config, and t.Error.
func (p *Proxy) Before(op string, fn func(Call)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before = append(p.before, hook{op: op, fn: fn})
}

// OnCall runs fn after each call has been answered, with its final record.
// The same restrictions as for [Proxy.Before] apply.
func (p *Proxy) OnCall(fn func(Call)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onCall = append(p.onCall, fn)
}

// Reset clears the call log and counts; faults, latency and hooks stay.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

// Log returns a copy of the calls received so far, in arrival order.
func (p *Proxy) Log() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.log...)
}

// Operations returns the bare operation names of the calls received so far,
// in arrival order, for comparing with cmp.Diff.
func (p *Proxy) Operations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ops := make([]string, len(p.log))
	for i, c := range p.log {
		ops[i] = c.Operation
	}
	return ops
}

// Calls returns the number of calls received so far by bare operation name.
func (p *Proxy) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := make(map[string]int)
	for _, c := range p.log {
		counts[c.Operation]++
	}
	return counts
}

// Count returns the number of calls of op received so far; op may be bare,
// qualified ("ssm:GetParameter") or "*".
func (p *Proxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.log {
		if matches(op, c) {
			n++
		}
	}
	return n
}

// Total returns the number of calls received so far.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

func matches(op string, c Call) bool {
	return op == "*" || op == c.Operation || op == c.Service+":"+c.Operation
}

// ServeHTTP forwards r to moto, applying latency, hooks and faults.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "awstest proxy: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	call := identify(r, body)
	call.Start = time.Now()

	p.mu.Lock()
	idx := len(p.log)
	p.log = append(p.log, call)
	var hooks []func(Call)
	for _, h := range p.before {
		if matches(h.op, call) {
			hooks = append(hooks, h.fn)
		}
	}
	latency, callTime := p.latency, p.callTime
	p.mu.Unlock()

	for _, fn := range hooks {
		fn(call)
	}
	ctx := r.Context()
	res := result{}
	auth := r.Header.Get("Authorization")
	reject := func() result {
		return result{status: writeResponse(w, awsError(r.Header, call, throttled(r.Header, call))), throttled: true}
	}
	switch {
	case callTime > 0:
		// A throttled call takes the call time too: AWS answers it after
		// a round trip.
		if !p.throttle(ctx, call, auth) {
			res = p.serveInTime(ctx, w, r, call, body, callTime)
		} else if p.sleep(ctx, callTime) {
			res = reject()
		}
	case p.sleep(ctx, latency):
		if p.throttle(ctx, call, auth) {
			res = reject()
		} else {
			fault, ok := p.takeFault(call)
			res = p.serve(ctx, w, r, call, body, fault, ok)
			res.fault = ok
		}
	}

	p.mu.Lock()
	// Reset may have emptied the log while this call was in flight.
	c := &call
	if idx < len(p.log) {
		c = &p.log[idx]
	}
	c.End, c.Status, c.Forwarded, c.Fault, c.Throttled = time.Now(), res.status, res.forwarded, res.fault, res.throttled
	call = *c
	after := slices.Clone(p.onCall)
	p.mu.Unlock()
	for _, fn := range after {
		fn(call)
	}
}

type result struct {
	status    int
	forwarded bool
	fault     bool
	throttled bool
}

// throttled is the answer of a throttled call, with the error code AWS uses
// for throttling in the call's protocol and the message ECS's documentation
// quotes; for DynamoDB, ThrottlingException with the message of an
// on-demand table being scaled (dynamoDBThrottled).
func throttled(h http.Header, call Call) Fault {
	f := Throttling()
	switch {
	case call.Service == "dynamodb":
		f.Message = dynamoDBThrottled
	case h.Get("X-Amz-Target") != "":
	case call.Service == "ec2":
		f.Code = "RequestLimitExceeded"
	default:
		f.Code = "Throttling"
	}
	return f
}

func (p *Proxy) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, call Call, body []byte, fault Fault, hasFault bool) result {
	if !hasFault {
		resp, forwarded, err := p.roundTrip(ctx, r, call, body)
		if err != nil {
			return result{status: writeForwardError(w, err), forwarded: forwarded}
		}
		return result{status: writeResponse(w, resp), forwarded: forwarded}
	}
	var res result
	var resp *Response
	if fault.AfterForward {
		var err error
		resp, res.forwarded, err = p.roundTrip(ctx, r, call, body)
		if err != nil {
			return result{status: writeForwardError(w, err), forwarded: res.forwarded}
		}
	}
	if !p.sleep(ctx, fault.Delay) {
		return res
	}
	switch {
	case fault.Drop:
		dropConnection(w)
	case fault.Status != 0:
		res.status = writeResponse(w, awsError(r.Header, call, fault))
	case resp != nil:
		res.status = writeResponse(w, resp)
	default:
		resp, forwarded, err := p.roundTrip(ctx, r, call, body)
		res.forwarded = forwarded
		if err != nil {
			res.status = writeForwardError(w, err)
			return res
		}
		res.status = writeResponse(w, resp)
	}
	return res
}

// takeFault pops the next fault that applies to call, if any.
func (p *Proxy) takeFault(call Call) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, key := range []string{call.Service + ":" + call.Operation, call.Operation, "*"} {
		q := p.faults[key]
		if len(q) == 0 {
			continue
		}
		f := q[0]
		if f.left != Always {
			f.left--
			if f.left == 0 {
				p.faults[key] = q[1:]
			}
		}
		return f.fault, true
	}
	return Fault{}, false
}

// sleep waits d and reports whether it did, or false if the client went
// away or the proxy was closed first.
func (p *Proxy) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.closed:
		return false
	}
}

// Response is an HTTP answer: moto's, as [Intercepted.Forward] returns it,
// or one an [InterceptFunc] makes up.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
}

func (p *Proxy) forward(ctx context.Context, r *http.Request, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("forward to moto: %w", err)
	}
	req.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	// Keep the Host the SDK signed.
	req.Host = r.Host
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("forward to moto: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read moto's answer: %w", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func writeResponse(w http.ResponseWriter, resp *Response) int {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
	return resp.Status
}

func writeForwardError(w http.ResponseWriter, err error) int {
	if errors.Is(err, context.Canceled) {
		return 0 // the client went away; nobody reads this answer
	}
	http.Error(w, "awstest proxy: "+err.Error(), http.StatusBadGateway)
	return http.StatusBadGateway
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 cannot be hijacked; aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// awsError returns fault as an answer in the error shape of the protocol of
// the request with header h.
func awsError(h http.Header, call Call, fault Fault) *Response {
	msg := fault.Message
	if msg == "" {
		msg = "injected by awstest"
	}
	const requestID = "00000000-0000-0000-0000-00000000a0a0"
	resp := &Response{Status: fault.Status, Header: http.Header{}}
	resp.Header.Set("X-Amzn-RequestId", requestID)
	switch {
	case h.Get("X-Amz-Target") != "":
		// awsJson1_0 / awsJson1_1
		resp.Body, _ = json.Marshal(map[string]string{"__type": fault.Code, "message": msg})
		resp.Header.Set("Content-Type", h.Get("Content-Type"))
		resp.Header.Set("X-Amzn-ErrorType", fault.Code)
	case call.Service == "ec2":
		// ec2Query
		resp.Header.Set("Content-Type", "text/xml")
		resp.Body = fmt.Appendf(nil, "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>",
			xmlEscape(fault.Code), xmlEscape(msg), requestID)
	default:
		// awsQuery
		kind := "Sender"
		if fault.Status >= 500 {
			kind = "Receiver"
		}
		resp.Header.Set("Content-Type", "text/xml")
		resp.Body = fmt.Appendf(nil, "<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>",
			kind, xmlEscape(fault.Code), xmlEscape(msg), requestID)
	}
	return resp
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// identify names the service and operation of an SDK request.
func identify(r *http.Request, body []byte) Call {
	c := Call{Service: signingName(r.Header.Get("Authorization")), Request: body}
	switch target := r.Header.Get("X-Amz-Target"); {
	case target != "":
		// JSON protocols: "AmazonSSM.GetParameter".
		prefix, op, _ := strings.Cut(target, ".")
		c.Operation = op
		if c.Service == "" {
			c.Service = prefix
		}
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		// Query protocols: Action=AssumeRole in the form body.
		if form, err := url.ParseQuery(string(body)); err == nil {
			c.Operation = form.Get("Action")
		}
	case strings.HasPrefix(r.URL.Path, "/service/") && strings.Contains(r.URL.Path, "/operation/"):
		// Smithy RPC v2 CBOR: /service/{service}/operation/{op}.
		_, op, _ := strings.Cut(r.URL.Path, "/operation/")
		c.Operation = op
	}
	if c.Operation == "" {
		c.Operation = r.Method + " " + r.URL.Path
	}
	return c
}

// signingName returns the service of a SigV4 Authorization header.
func signingName(auth string) string {
	_, _, service := credentialScope(auth)
	return service
}
