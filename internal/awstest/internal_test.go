package awstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
)

func TestSkipReason(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		skip bool
	}{
		{"default runs", nil, false},
		{"skip variable", map[string]string{"ECRDEPLOY_SKIP_INTEGRATION": "1"}, true},
		{"skip variable other value", map[string]string{"ECRDEPLOY_SKIP_INTEGRATION": "true"}, false},
		{"CI never skips", map[string]string{"ECRDEPLOY_SKIP_INTEGRATION": "1", "CI": "true"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := skipReason(func(k string) string { return tc.env[k] }) != ""
			if got != tc.skip {
				t.Errorf("skip = %v, want %v", got, tc.skip)
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=test/20261127/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=abc"
	}
	tests := []struct {
		name    string
		header  map[string]string
		path    string
		body    string
		service string
		op      string
	}{
		{
			name:   "JSON",
			header: map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices", "Authorization": auth("ecs")},
			path:   "/", service: "ecs", op: "DescribeServices",
		},
		{
			name:   "JSON unsigned",
			header: map[string]string{"X-Amz-Target": "AWSEvents.PutEvents"},
			path:   "/", service: "AWSEvents", op: "PutEvents",
		},
		{
			name:   "query",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Authorization": auth("sts")},
			path:   "/", body: "Action=AssumeRole&Version=2011-06-15&RoleArn=x", service: "sts", op: "AssumeRole",
		},
		{
			name:   "RPC v2 CBOR",
			header: map[string]string{"Authorization": auth("monitoring")},
			path:   "/service/GraniteServiceVersion20100801/operation/PutMetricData", service: "monitoring", op: "PutMetricData",
		},
		{
			name: "unknown", path: "/moto-api/", op: "POST /moto-api/",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			c := identify(r, []byte(tc.body))
			if c.Service != tc.service || c.Operation != tc.op {
				t.Errorf("identify = %q %q, want %q %q", c.Service, c.Operation, tc.service, tc.op)
			}
		})
	}
}

func TestAWSError(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		service  string
		wantBody string
	}{
		{"JSON", "AmazonSSM.GetParameter", "ssm", `{"__type":"ThrottlingException","message":"Rate exceeded"}`},
		{"query", "", "sts", "<ErrorResponse><Error><Type>Sender</Type><Code>ThrottlingException</Code>"},
		{"EC2", "", "ec2", "<Response><Errors><Error><Code>ThrottlingException</Code>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			if tc.target != "" {
				r.Header.Set("X-Amz-Target", tc.target)
			}
			w := httptest.NewRecorder()
			status := writeResponse(w, awsError(r.Header, Call{Service: tc.service}, Throttling()))
			if status != http.StatusBadRequest || w.Code != http.StatusBadRequest {
				t.Errorf("status = %d (recorded %d), want 400", status, w.Code)
			}
			if !strings.HasPrefix(w.Body.String(), tc.wantBody) {
				t.Errorf("body = %s, want prefix %s", w.Body, tc.wantBody)
			}
			if tc.target != "" && w.Header().Get("X-Amzn-ErrorType") != "ThrottlingException" {
				t.Errorf("X-Amzn-ErrorType = %q", w.Header().Get("X-Amzn-ErrorType"))
			}
		})
	}
}

func TestTakeFault(t *testing.T) {
	p := NewProxy("http://127.0.0.1:1")
	p.Fail("*", Always, Delay(1))
	p.Fail("UpdateService", 1, Throttling())
	p.Fail("ecs:UpdateService", 1, DropConnection())
	p.Fail("UpdateService", 2, ServerError(http.StatusServiceUnavailable))
	call := Call{Service: "ecs", Operation: "UpdateService"}
	var got []string
	for range 5 {
		f, ok := p.takeFault(call)
		switch {
		case !ok:
			got = append(got, "none")
		case f.Drop:
			got = append(got, "drop")
		case f.Status != 0:
			got = append(got, f.Code)
		default:
			got = append(got, "delay")
		}
	}
	want := []string{"drop", "ThrottlingException", "ServiceUnavailable", "ServiceUnavailable", "delay"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("faults in order (-want +got):\n%s", diff)
	}
}

func TestCallReadOnly(t *testing.T) {
	for op, want := range map[string]bool{
		"DescribeServices": true, "GetParameter": true, "ListTaskDefinitions": true, "BatchGetImage": true, "Query": true,
		"UpdateService": false, "UpdateItem": false, "TransactWriteItems": false, "DeleteItem": false, "RegisterTaskDefinition": false, "PutParameter": false, "PutEvents": false,
	} {
		if got := (Call{Operation: op}).ReadOnly(); got != want {
			t.Errorf("ReadOnly(%s) = %v, want %v", op, got, want)
		}
	}
}

func TestParseTaskDefinitionErrors(t *testing.T) {
	tests := map[string]string{
		"not JSON":      `{`,
		"no family":     `{"containerDefinitions":[]}`,
		"unknown field": `{"family":"web","containerDefinitions":[{"name":"a","imag":"x"}]}`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := localaws.ParseTaskDefinition([]byte(doc)); err == nil {
				t.Error("ParseTaskDefinition succeeded, want an error")
			}
		})
	}
}

func TestParseTaskDefinitionShapes(t *testing.T) {
	for name, doc := range map[string]string{
		"describe output": `{"taskDefinition":{"family":"web","revision":3,"registeredAt":1700000000.1},"tags":[{"key":"k","value":"v"}]}`,
		"bare with tags":  `{"family":"web","status":"ACTIVE","tags":[{"key":"k","value":"v"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			in, err := localaws.ParseTaskDefinition([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if *in.Family != "web" || len(in.Tags) != 1 || *in.Tags[0].Key != "k" {
				t.Errorf("got family %s, tags %v", *in.Family, in.Tags)
			}
		})
	}
	in, err := localaws.ParseTaskDefinition([]byte(`{"family":"web","tags":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Tags != nil {
		t.Errorf("empty tags = %#v, want nil", in.Tags)
	}
}

// TestWriteLocks: writes of one item wait on each other, writes of
// different items do not, and a write that is not of one known item (a
// transaction) waits on them all.
func TestWriteLocks(t *testing.T) {
	a := []byte(`{"TableName":"t","Key":{"pk":{"S":"web"},"sk":{"S":"record#dev"}},"UpdateExpression":"SET x = :x"}`)
	aAgain := []byte(`{"Key":{"sk":{"S":"record#dev"},"pk":{"S":"web"}},"TableName":"t"}`)
	b := []byte(`{"TableName":"t","Key":{"pk":{"S":"web"},"sk":{"S":"record#prod"}}}`)
	ka, _ := itemOf(a)
	if k, _ := itemOf(aAgain); k != ka {
		t.Errorf("the same item's key in another order is another item: %q, %q", ka, k)
	}
	var l writeLocks
	release := l.lock(true, a)
	mutex := func(body []byte) *sync.Mutex {
		k, _ := itemOf(body)
		m, _ := l.items.LoadOrStore(k, new(sync.Mutex))
		return m.(*sync.Mutex)
	}
	if mutex(aAgain).TryLock() {
		t.Error("a second write of the item did not wait for the first")
	}
	if m := mutex(b); !m.TryLock() {
		t.Error("a write of another item waited")
	} else {
		m.Unlock()
	}
	if l.alone.TryLock() {
		t.Error("a transaction did not wait for a write of an item")
	}
	release()
	releaseAlone := l.lock(true, []byte(`{"TransactItems":[]}`))
	if l.alone.TryRLock() {
		t.Error("a write of an item did not wait for a transaction")
	}
	releaseAlone()
}
