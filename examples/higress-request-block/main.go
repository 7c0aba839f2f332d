// higress-request-block rejects requests whose URL, headers or body contain
// a blocked keyword, in the style of Higress's built-in request-block plugin.
//
// The configuration is what Higress delivers for a WasmPlugin: the global
// (default) config at the top level, and per-route / per-domain / per-service
// rules under "_rules_". A rule is layered over the global config
// (ParseOverrideConfig): fields the rule sets replace the global ones.
//
//	{
//	  "block_urls": ["/.git"], "blocked_code": 403, "blocked_message": "blocked",
//	  "_rules_": [
//	    {"_match_route_": ["default/internal-api"], "block_urls": ["/internal"]},
//	    {"_match_domain_": ["*.example.com"], "block_headers": ["x-debug"]},
//	    {"_match_service_": ["legacy.default.svc.cluster.local"], "block_bodies": ["drop table"]}
//	  ]
//	}
package main

import (
	"errors"
	"strings"

	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm"
	"github.com/higress-group/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/higress-group/wasm-go/pkg/log"
	"github.com/higress-group/wasm-go/pkg/wrapper"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	wrapper.SetCtx(
		"request-block",
		wrapper.ParseOverrideConfig(parseGlobalConfig, parseRuleConfig),
		wrapper.ProcessRequestHeaders(onHttpRequestHeaders),
		wrapper.ProcessRequestBody(onHttpRequestBody),
	)
}

// BlockConfig is the effective configuration for one request.
type BlockConfig struct {
	BlockedCode    uint32
	BlockedMessage string
	CaseSensitive  bool
	// BlockURLs are substrings of :path (query included).
	BlockURLs []string
	// BlockExactURLs must equal :path.
	BlockExactURLs []string
	// BlockHeaders are substrings of any "name: value" header line.
	BlockHeaders []string
	// BlockBodies are substrings of the request body.
	BlockBodies []string
}

func parseGlobalConfig(json gjson.Result, config *BlockConfig) error {
	*config = BlockConfig{BlockedCode: 403, BlockedMessage: "request blocked\n"}
	return applyFields(json, config)
}

// parseRuleConfig starts from the global config and applies the rule's own
// fields on top. The rule JSON still holds its _match_*_ keys; they are not
// ours to read (the wrapper's rule matcher uses them).
func parseRuleConfig(json gjson.Result, global BlockConfig, config *BlockConfig) error {
	*config = global
	if config.BlockedCode == 0 { // no global config at all
		config.BlockedCode, config.BlockedMessage = 403, "request blocked\n"
	}
	return applyFields(json, config)
}

func applyFields(json gjson.Result, config *BlockConfig) error {
	if v := json.Get("blocked_code"); v.Exists() {
		code := v.Int()
		if code < 200 || code > 599 {
			return errors.New("blocked_code must be an HTTP status between 200 and 599")
		}
		config.BlockedCode = uint32(code)
	}
	if v := json.Get("blocked_message"); v.Exists() {
		config.BlockedMessage = v.String()
	}
	if v := json.Get("case_sensitive"); v.Exists() {
		config.CaseSensitive = v.Bool()
	}
	lists := map[string]*[]string{
		"block_urls":       &config.BlockURLs,
		"block_exact_urls": &config.BlockExactURLs,
		"block_headers":    &config.BlockHeaders,
		"block_bodies":     &config.BlockBodies,
	}
	for key, dst := range lists {
		v := json.Get(key)
		if !v.Exists() {
			continue
		}
		if !v.IsArray() {
			return errors.New(key + " must be an array of strings")
		}
		var items []string
		for _, item := range v.Array() {
			if s := item.String(); s != "" {
				items = append(items, s)
			}
		}
		*dst = items // a rule replaces the global list
	}
	if !config.CaseSensitive {
		for _, dst := range lists {
			for i, s := range *dst {
				(*dst)[i] = strings.ToLower(s)
			}
		}
	}
	if len(config.BlockURLs)+len(config.BlockExactURLs)+len(config.BlockHeaders)+len(config.BlockBodies) == 0 {
		return errors.New("no block rules: set block_urls, block_exact_urls, block_headers or block_bodies")
	}
	return nil
}

func (c BlockConfig) fold(s string) string {
	if c.CaseSensitive {
		return s
	}
	return strings.ToLower(s)
}

func onHttpRequestHeaders(ctx wrapper.HttpContext, config BlockConfig) types.Action {
	path := config.fold(ctx.Path())
	for _, u := range config.BlockExactURLs {
		if path == u {
			return block(config, "url_exact", u)
		}
	}
	for _, u := range config.BlockURLs {
		if strings.Contains(path, u) {
			return block(config, "url", u)
		}
	}
	if len(config.BlockHeaders) > 0 {
		headers, err := proxywasm.GetHttpRequestHeaders()
		if err != nil {
			log.Warnf("reading request headers: %v", err)
			return types.HeaderContinue
		}
		for _, h := range headers {
			line := config.fold(h[0] + ": " + h[1])
			for _, b := range config.BlockHeaders {
				if strings.Contains(line, b) {
					return block(config, "header", b)
				}
			}
		}
	}
	if len(config.BlockBodies) == 0 || !ctx.HasRequestBody() {
		ctx.DontReadRequestBody()
		return types.HeaderContinue
	}
	// Hold the headers until the body has been checked. Under Higress's ABI
	// (0.2.100) this is a real StopIteration: body callbacks keep coming
	// and the wrapper buffers the body for onHttpRequestBody.
	return types.HeaderStopIteration
}

func onHttpRequestBody(ctx wrapper.HttpContext, config BlockConfig, body []byte) types.Action {
	text := config.fold(string(body))
	for _, b := range config.BlockBodies {
		if strings.Contains(text, b) {
			return block(config, "body", b)
		}
	}
	return types.DataContinue
}

// block answers the client and stops the request.
func block(config BlockConfig, what, keyword string) types.Action {
	log.Infof("blocked: %s matches %q; answering %d", what, keyword, config.BlockedCode)
	headers := [][2]string{{"content-type", "text/plain; charset=utf-8"}}
	if err := proxywasm.SendHttpResponseWithDetail(config.BlockedCode, "request-block."+what+"_blocked", headers, []byte(config.BlockedMessage), -1); err != nil {
		log.Errorf("sending the block response: %v", err)
	}
	return types.ActionPause
}
