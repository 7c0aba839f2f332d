package main

import (
	"encoding/json"
	"testing"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/test"
)

var testConfig = json.RawMessage(`{
  "block_urls": ["/.git"],
  "blocked_message": "blocked\n",
  "_rules_": [
    {"_match_route_": ["default/internal-api"], "block_urls": ["/internal"], "blocked_message": "internal API is not exposed\n"},
    {"_match_domain_": ["*.example.com"], "block_headers": ["x-debug"]},
    {"_match_service_": ["legacy.default.svc.cluster.local"], "block_bodies": ["drop table"]}
  ]
}`)

func start(t *testing.T) test.TestHost {
	host, status := test.NewTestHost(testConfig)
	if status != types.OnPluginStartStatusOK {
		t.Fatalf("plugin start failed")
	}
	return host
}

func TestRouteRuleBlocks(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host := start(t)
		defer host.Reset()
		host.SetRouteName("default/internal-api")
		host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "api.test.com"}, {":method", "GET"}, {":path", "/internal/users"},
		}, test.WithEndOfStream(true))
		r := host.GetLocalResponse()
		if r == nil || r.StatusCode != 403 || string(r.Data) != "internal API is not exposed\n" {
			t.Fatalf("expected the route rule's 403, got %+v", r)
		}
	})
}

func TestGlobalConfigStillAppliesElsewhere(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host := start(t)
		defer host.Reset()
		host.SetRouteName("default/other")
		host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "api.test.com"}, {":method", "GET"}, {":path", "/internal/users"},
		}, test.WithEndOfStream(true))
		if r := host.GetLocalResponse(); r != nil {
			t.Fatalf("unexpected local reply %d", r.StatusCode)
		}
		host.CompleteHttp()
		host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "api.test.com"}, {":method", "GET"}, {":path", "/repo/.GIT/config"},
		}, test.WithEndOfStream(true))
		if r := host.GetLocalResponse(); r == nil || r.StatusCode != 403 {
			t.Fatalf("expected the global 403, got %+v", r)
		}
	})
}

func TestServiceRuleChecksBody(t *testing.T) {
	test.RunGoTest(t, func(t *testing.T) {
		host := start(t)
		defer host.Reset()
		host.SetClusterName("outbound|80||legacy.default.svc.cluster.local")
		action := host.CallOnHttpRequestHeaders([][2]string{
			{":authority", "legacy.internal"}, {":method", "POST"}, {":path", "/query"},
			{"content-type", "text/plain"},
		})
		if action != types.HeaderStopIteration {
			t.Fatalf("expected headers to be held, got %v", action)
		}
		host.CallOnHttpRequestBody([]byte("select 1; DROP TABLE users;"))
		if r := host.GetLocalResponse(); r == nil || r.StatusCode != 403 {
			t.Fatalf("expected 403, got %+v", r)
		}
	})
}
