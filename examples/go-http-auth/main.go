// go-http-auth asks an external authorization service about every request.
//
// On request headers the plugin sends GET <path> to the configured cluster,
// forwarding the client's "authorization" header, and pauses the request.
// When the answer arrives it either resumes the request (the service said
// 200) or answers the client with 403 itself. Headers listed in
// "forward_headers" are copied from the auth answer onto the upstream request
// (e.g. the user name the service resolved from the token).
//
// Configuration (all fields optional):
//
//	{"cluster": "auth", "path": "/check", "authority": "auth.internal",
//	 "timeout_ms": 1000, "forward_headers": ["x-auth-user"]}
package main

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

type config struct {
	// Cluster is the Envoy cluster of the auth service.
	Cluster string `json:"cluster"`
	// Path is the :path of the check request.
	Path string `json:"path"`
	// Authority is the :authority of the check request; defaults to the cluster name.
	Authority string `json:"authority"`
	// TimeoutMs bounds the check request.
	TimeoutMs uint32 `json:"timeout_ms"`
	// ForwardHeaders are copied from a successful auth answer onto the upstream request.
	ForwardHeaders []string `json:"forward_headers"`
}

func defaultConfig() config {
	return config{Cluster: "auth", Path: "/check", TimeoutMs: 1000, ForwardHeaders: []string{"x-auth-user"}}
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg config
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg = defaultConfig()
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p.cfg); err != nil {
			proxywasm.LogCriticalf("invalid plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	if p.cfg.Cluster == "" || !strings.HasPrefix(p.cfg.Path, "/") {
		proxywasm.LogCriticalf("invalid plugin configuration: need a cluster and a path starting with /")
		return types.OnPluginStartStatusFailed
	}
	if p.cfg.Authority == "" {
		p.cfg.Authority = p.cfg.Cluster
	}
	for i, h := range p.cfg.ForwardHeaders {
		p.cfg.ForwardHeaders[i] = strings.ToLower(h)
	}
	proxywasm.LogInfof("go-http-auth ready: checking requests with cluster %q path %q", p.cfg.Cluster, p.cfg.Path)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{cfg: &p.cfg, contextID: contextID}
}

type httpContext struct {
	types.DefaultHttpContext
	cfg       *config
	contextID uint32
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	method, _ := proxywasm.GetHttpRequestHeader(":method")
	path, _ := proxywasm.GetHttpRequestHeader(":path")

	headers := [][2]string{
		{":method", "GET"},
		{":path", h.cfg.Path},
		{":authority", h.cfg.Authority},
		{"x-forwarded-method", method},
		{"x-forwarded-uri", path},
	}
	if auth, err := proxywasm.GetHttpRequestHeader("authorization"); err == nil {
		headers = append(headers, [2]string{"authorization", auth})
	}

	if _, err := proxywasm.DispatchHttpCall(h.cfg.Cluster, headers, nil, nil, h.cfg.TimeoutMs, h.onAuthResponse); err != nil {
		proxywasm.LogErrorf("dispatching auth check to cluster %q failed: %v", h.cfg.Cluster, err)
		reply(503, "auth service unavailable\n")
		return types.ActionPause
	}
	proxywasm.LogInfof("auth check sent to %s%s for %s %s", h.cfg.Cluster, h.cfg.Path, method, path)
	// Hold the request (its headers stay writable) until the answer arrives.
	return types.ActionPause
}

// onAuthResponse runs in the root context's callout callback; the SDK has
// already made this stream the effective context again.
func (h *httpContext) onAuthResponse(numHeaders, bodySize, numTrailers int) {
	if numHeaders == 0 {
		proxywasm.LogWarnf("auth check failed (no response); denying")
		reply(403, "access denied: auth service did not answer\n")
		return
	}
	headers, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil {
		proxywasm.LogErrorf("reading auth response headers: %v", err)
		reply(403, "access denied\n")
		return
	}
	status := headerValue(headers, ":status")
	if status != "200" {
		proxywasm.LogInfof("auth service answered %s; denying", status)
		reply(403, "access denied\n")
		return
	}
	for _, name := range h.cfg.ForwardHeaders {
		if v := headerValue(headers, name); v != "" {
			if err := proxywasm.ReplaceHttpRequestHeader(name, v); err != nil {
				proxywasm.LogErrorf("setting %s on the request: %v", name, err)
			}
		}
	}
	proxywasm.LogInfof("auth service answered 200; resuming request")
	if err := proxywasm.ResumeHttpRequest(); err != nil {
		proxywasm.LogErrorf("resuming request: %v", err)
	}
}

func reply(status uint32, body string) {
	headers := [][2]string{{"content-type", "text/plain; charset=utf-8"}}
	if err := proxywasm.SendHttpResponse(status, headers, []byte(body), -1); err != nil {
		proxywasm.LogErrorf("sending local reply: %v", err)
	}
}

func headerValue(headers [][2]string, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}
