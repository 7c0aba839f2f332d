// go-headers adds, replaces and removes request and response headers.
//
// The plugin configuration is a JSON document:
//
//	{
//	  "request":  {"add": {"x-name": "value"}, "set": {"user-agent": "proxy"}, "remove": ["x-debug"]},
//	  "response": {"add": {...}, "set": {...}, "remove": ["server"]}
//	}
//
// For each direction the operations run in this order: remove, set, add.
// "set" replaces every existing value of a header (or adds it when absent);
// "add" appends a value and keeps the existing ones.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

// headerOps is the set of edits for one direction.
type headerOps struct {
	Add    map[string]string `json:"add"`
	Set    map[string]string `json:"set"`
	Remove []string          `json:"remove"`
}

type config struct {
	Request  headerOps `json:"request"`
	Response headerOps `json:"response"`
}

// edit is one normalised header operation, applied in a fixed order.
type edit struct {
	op    string // "remove", "set" or "add"
	name  string
	value string
}

type pluginContext struct {
	types.DefaultPluginContext
	request  []edit
	response []edit
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	var cfg config
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			proxywasm.LogCriticalf("invalid plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	p.request = compile(cfg.Request)
	p.response = compile(cfg.Response)
	proxywasm.LogInfof("go-headers ready: %d request and %d response edits", len(p.request), len(p.response))
	return types.OnPluginStartStatusOK
}

// compile turns the configuration into an ordered edit list. Header names are
// lower-cased (HTTP/2 and Envoy use lower-case names) and map keys are sorted
// so that the edits and their log lines are deterministic.
func compile(ops headerOps) []edit {
	var out []edit
	for _, name := range ops.Remove {
		out = append(out, edit{op: "remove", name: strings.ToLower(name)})
	}
	for _, name := range sortedKeys(ops.Set) {
		out = append(out, edit{op: "set", name: strings.ToLower(name), value: ops.Set[name]})
	}
	for _, name := range sortedKeys(ops.Add) {
		out = append(out, edit{op: "add", name: strings.ToLower(name), value: ops.Add[name]})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin *pluginContext
}

// headerAPI abstracts over the request and response header host calls.
type headerAPI struct {
	direction string
	get       func(string) (string, error)
	remove    func(string) error
	replace   func(string, string) error
	add       func(string, string) error
}

var requestAPI = headerAPI{
	direction: "request",
	get:       proxywasm.GetHttpRequestHeader,
	remove:    proxywasm.RemoveHttpRequestHeader,
	replace:   proxywasm.ReplaceHttpRequestHeader,
	add:       proxywasm.AddHttpRequestHeader,
}

var responseAPI = headerAPI{
	direction: "response",
	get:       proxywasm.GetHttpResponseHeader,
	remove:    proxywasm.RemoveHttpResponseHeader,
	replace:   proxywasm.ReplaceHttpResponseHeader,
	add:       proxywasm.AddHttpResponseHeader,
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	apply(requestAPI, h.plugin.request)
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	apply(responseAPI, h.plugin.response)
	return types.ActionContinue
}

func apply(api headerAPI, edits []edit) {
	for _, e := range edits {
		old, err := api.get(e.name)
		present := err == nil
		switch e.op {
		case "remove":
			if !present {
				continue // nothing to remove; stay quiet
			}
			err = api.remove(e.name)
			logChange(api.direction, err, "removed %s (was %q)", e.name, old)
		case "set":
			err = api.replace(e.name, e.value)
			if present {
				logChange(api.direction, err, "set %s: %s (was %q)", e.name, e.value, old)
			} else {
				logChange(api.direction, err, "set %s: %s (new)", e.name, e.value)
			}
		case "add":
			err = api.add(e.name, e.value)
			logChange(api.direction, err, "added %s: %s", e.name, e.value)
		}
	}
}

func logChange(direction string, err error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		proxywasm.LogErrorf("%s: failed to apply %q: %v", direction, msg, err)
		return
	}
	proxywasm.LogInfof("%s: %s", direction, msg)
}
