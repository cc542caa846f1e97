package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// InterceptFunc answers a call in place of moto, or rewrites moto's answer:
// it may return an answer of its own, or call [Intercepted.Forward] and
// return what moto said, changed or not. An error is answered as a 502 from
// the proxy, as a failed forward is.
type InterceptFunc func(ctx context.Context, in Intercepted) (*Response, error)

// Intercepted is a call as an [InterceptFunc] sees it.
type Intercepted struct {
	// Call is the call's record so far (service, operation, request
	// body).
	Call Call
	// Header is the request's header, which tells its protocol.
	Header http.Header

	forward func(context.Context) (*Response, error)
}

// Forward sends the call on (to the interceptor registered before this one
// for the operation, if any, else to moto) and returns the answer. The call
// is recorded as Forwarded if it reached moto.
func (in Intercepted) Forward(ctx context.Context) (*Response, error) {
	return in.forward(ctx)
}

// Error returns an AWS error answer in the error shape of the call's
// protocol, as the proxy's injected faults are written.
func (in Intercepted) Error(status int, code, message string) *Response {
	return awsError(in.Header, in.Call, AWSError(status, code, message))
}

// JSON returns a 200 answer whose body is v encoded as JSON, for the JSON
// protocols (awsJson1_0, awsJson1_1).
func (in Intercepted) JSON(v any) (*Response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("awstest: encode %s answer: %w", in.Call.Operation, err)
	}
	h := http.Header{}
	h.Set("Content-Type", in.Header.Get("Content-Type"))
	h.Set("X-Amzn-RequestId", "00000000-0000-0000-0000-00000000a0a1")
	return &Response{Status: http.StatusOK, Header: h, Body: b}, nil
}

type intercept struct {
	op string
	fn InterceptFunc
}

// Intercept runs fn for every call of op (bare, qualified or "*", as for
// [Proxy.Fail]) in place of forwarding it to moto. Counting, latency, hooks
// and faults apply to intercepted calls as to others: a fault that answers
// an error answers it without running fn, one with AfterForward runs fn
// first. A call fn answers without forwarding is logged with Forwarded
// false. When several interceptors match a call, the one added last runs
// first and its Forward reaches the one added before it.
func (p *Proxy) Intercept(op string, fn InterceptFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.intercepts = append(p.intercepts, intercept{op: op, fn: fn})
}

// roundTrip answers call through the matching interceptors, the last added
// first, and then moto. forwarded reports whether the call reached moto.
func (p *Proxy) roundTrip(ctx context.Context, r *http.Request, call Call, body []byte) (resp *Response, forwarded bool, err error) {
	p.mu.Lock()
	var chain []InterceptFunc
	for _, ic := range p.intercepts {
		if matches(ic.op, call) {
			chain = append(chain, ic.fn)
		}
	}
	p.mu.Unlock()
	slices.Reverse(chain)

	var next func(ctx context.Context, i int) (*Response, error)
	next = func(ctx context.Context, i int) (*Response, error) {
		if i == len(chain) {
			resp, err := p.forward(ctx, r, body)
			forwarded = forwarded || err == nil
			return resp, err
		}
		return chain[i](ctx, Intercepted{Call: call, Header: r.Header, forward: func(ctx context.Context) (*Response, error) {
			return next(ctx, i+1)
		}})
	}
	resp, err = next(ctx, 0)
	return resp, forwarded, err
}
