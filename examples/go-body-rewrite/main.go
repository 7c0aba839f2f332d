// go-body-rewrite buffers a JSON request body and rewrites top-level fields
// before the request goes upstream.
//
// Configuration:
//
//	{"set": {"role": "guest"}, "redact": ["password"], "redacted_value": "[redacted]"}
//
// "set" replaces a field's value (or appends the field when it is missing);
// "redact" replaces the value of a field that is present with
// "redacted_value". Field order and the bytes of untouched values are kept.
// Bodies that are not JSON objects pass through unchanged.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &pluginContext{} })
}

type config struct {
	Set           map[string]json.RawMessage `json:"set"`
	Redact        []string                   `json:"redact"`
	RedactedValue string                     `json:"redacted_value"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg config
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	p.cfg = config{RedactedValue: "[redacted]"}
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
	proxywasm.LogInfof("go-body-rewrite ready: set %v, redact %v", sortedKeys(p.cfg.Set), p.cfg.Redact)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{cfg: &p.cfg}
}

type httpContext struct {
	types.DefaultHttpContext
	cfg     *config
	rewrite bool
}

func (h *httpContext) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	if endOfStream {
		return types.ActionContinue // no body
	}
	ct, _ := proxywasm.GetHttpRequestHeader("content-type")
	if !strings.Contains(strings.ToLower(ct), "application/json") {
		return types.ActionContinue
	}
	h.rewrite = true
	// The body may change size. The request headers leave before the body
	// is rewritten, so drop content-length now (Envoy then streams the body
	// chunked / as HTTP/2 DATA frames). Headers are writable only in this
	// callback because it returns Continue.
	if err := proxywasm.RemoveHttpRequestHeader("content-length"); err != nil {
		proxywasm.LogWarnf("removing content-length: %v", err)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpRequestBody(bodySize int, endOfStream bool) types.Action {
	if !h.rewrite {
		return types.ActionContinue
	}
	if !endOfStream {
		// Buffer: Envoy keeps the chunks and calls again with the whole body so far.
		return types.ActionPause
	}
	body, err := proxywasm.GetHttpRequestBody(0, bodySize)
	if err != nil {
		proxywasm.LogErrorf("reading request body: %v", err)
		return types.ActionContinue
	}
	out, changes, err := rewrite(body, h.cfg)
	if err != nil {
		proxywasm.LogWarnf("body left unchanged: %v", err)
		return types.ActionContinue
	}
	if len(changes) == 0 {
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestBody(out); err != nil {
		proxywasm.LogErrorf("replacing request body: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("request body rewritten (%d -> %d bytes): %s", len(body), len(out), strings.Join(changes, ", "))
	return types.ActionContinue
}

type field struct {
	key   string
	value json.RawMessage
}

// rewrite applies the configuration to a JSON object, keeping field order.
func rewrite(body []byte, cfg *config) ([]byte, []string, error) {
	fields, err := parseObject(body)
	if err != nil {
		return nil, nil, err
	}
	var changes []string
	for _, name := range cfg.Redact {
		if i := slices.IndexFunc(fields, func(f field) bool { return f.key == name }); i >= 0 {
			v, _ := json.Marshal(cfg.RedactedValue)
			fields[i].value = v
			changes = append(changes, "redacted "+name)
		}
	}
	for _, name := range sortedKeys(cfg.Set) {
		v := cfg.Set[name]
		if i := slices.IndexFunc(fields, func(f field) bool { return f.key == name }); i >= 0 {
			if bytes.Equal(fields[i].value, v) {
				continue
			}
			changes = append(changes, fmt.Sprintf("set %s: %s (was %s)", name, v, fields[i].value))
			fields[i].value = v
		} else {
			fields = append(fields, field{key: name, value: v})
			changes = append(changes, fmt.Sprintf("set %s: %s (new)", name, v))
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(f.value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), changes, nil
}

// parseObject reads the top-level members of a JSON object in order.
func parseObject(body []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		key := tok.(string) // object keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		fields = append(fields, field{key: key, value: compact(v)})
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return fields, nil
}

func compact(v json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return v
	}
	return buf.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
