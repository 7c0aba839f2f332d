//! Fills the request editor from what people have at hand: a `curl` command (as DevTools'
//! "Copy as cURL" writes it) or a raw HTTP/1.1 request. Pure logic, tested natively.

use pwp_model::scenario::{Body, Headers, Request};

/// Parses a `curl ...` command or a raw HTTP request into a request.
///
/// # Errors
///
/// A message saying what could not be understood.
pub fn parse_request(text: &str) -> Result<Request, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with("curl ") || trimmed.starts_with("curl\t") || trimmed == "curl" {
        parse_curl(trimmed)
    } else {
        parse_raw(trimmed)
    }
}

/// Splits a shell command line into words: single and double quotes, backslash escapes and
/// line continuations, as bash reads them (no expansions).
fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated ' quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some('\n') => {}
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated \" quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated \" quote".into()),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                // Bash ANSI-C quoting, as Chrome's "Copy as cURL" uses for bodies.
                chars.next();
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => cur.push('\n'),
                            Some('r') => cur.push('\r'),
                            Some('t') => cur.push('\t'),
                            Some(x) => cur.push(x),
                            None => return Err("unterminated $' quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated $' quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | Some('\r') => {}
                Some(x) => {
                    in_word = true;
                    cur.push(x);
                }
                None => {}
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn set_url(req: &mut Request, url: &str) -> Result<(), String> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), url),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("no host in URL {url:?}"));
    }
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    req.scheme = scheme;
    req.authority = authority.to_string();
    req.path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    if let Some(i) = req.path.find('#') {
        req.path.truncate(i);
    }
    Ok(())
}

fn parse_curl(text: &str) -> Result<Request, String> {
    let words = shell_words(text)?;
    let mut req = Request {
        headers: Headers::default(),
        ..Request::default()
    };
    let mut method: Option<String> = None;
    let mut data: Vec<String> = Vec::new();
    let mut url: Option<String> = None;
    let mut head = false;
    let mut get = false;
    let mut host: Option<String> = None;
    let mut it = words.into_iter().skip(1);
    while let Some(w) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match w.as_str() {
            "-X" | "--request" => method = Some(value(&w)?),
            "-H" | "--header" => {
                let h = value(&w)?;
                let (k, v) = h
                    .split_once(':')
                    .ok_or(format!("header {h:?} has no ':'"))?;
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "host" {
                    host = Some(v);
                } else {
                    req.headers.0.push((k, v));
                }
            }
            "-F" | "--form" | "--form-string" => {
                return Err(
                    "multipart forms (-F) are not supported: paste the raw request (DevTools: Copy request headers, then the payload)"
                        .into(),
                );
            }
            "-G" | "--get" => get = true,
            "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-ascii" | "--json"
            | "--data-urlencode" => {
                let d = value(&w)?;
                if w == "--json" {
                    req.headers
                        .0
                        .push(("content-type".into(), "application/json".into()));
                    req.headers
                        .0
                        .push(("accept".into(), "application/json".into()));
                }
                data.push(d);
            }
            "-A" | "--user-agent" => {
                let v = value(&w)?;
                req.headers.0.push(("user-agent".into(), v));
            }
            "-e" | "--referer" => {
                let v = value(&w)?;
                req.headers.0.push(("referer".into(), v));
            }
            "-b" | "--cookie" => {
                let v = value(&w)?;
                req.headers.0.push(("cookie".into(), v));
            }
            "-u" | "--user" => {
                let v = value(&w)?;
                req.headers.0.push((
                    "authorization".into(),
                    format!("Basic {}", base64(v.as_bytes())),
                ));
            }
            "-I" | "--head" => head = true,
            "--url" => url = Some(value(&w)?),
            "--compressed" | "-s" | "--silent" | "-k" | "--insecure" | "-L" | "--location"
            | "-v" | "--verbose" | "-i" | "--include" | "-S" | "--show-error" | "-f" | "--fail"
            | "-g" | "--globoff" | "--http1.1" | "--http2" => {}
            "-o" | "--output" | "-m" | "--max-time" | "--connect-timeout" | "-w"
            | "--write-out" => {
                let _ = value(&w)?;
            }
            flag if flag.starts_with('-') => {}
            other => url = Some(other.to_string()),
        }
    }
    let url = url.ok_or("no URL in the curl command")?;
    set_url(&mut req, &url)?;
    // An explicit Host header wins over the URL's host, as with curl.
    if let Some(h) = host {
        req.authority = h;
    }
    if get && !data.is_empty() {
        let sep = if req.path.contains('?') { '&' } else { '?' };
        req.path = format!("{}{sep}{}", req.path, data.join("&"));
        data.clear();
        method.get_or_insert_with(|| "GET".into());
    }
    if !data.is_empty() {
        req.body = Some(Body::Text(data.join("&")));
        if !req.headers.0.iter().any(|(k, _)| k == "content-type") {
            req.headers.0.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
    }
    req.method = match (method, head, data.is_empty()) {
        (Some(m), _, _) => m.to_ascii_uppercase(),
        (None, true, _) => "HEAD".into(),
        (None, false, false) => "POST".into(),
        _ => "GET".into(),
    };
    Ok(req)
}

/// Fills the request from pasted text, keeping what the text cannot say: the trailers, and
/// the scheme when a raw request names no absolute URL.
///
/// # Errors
///
/// As [`parse_request`]; the current request is then left as it is.
pub fn fill_request(current: &Request, text: &str) -> Result<Request, String> {
    let mut r = parse_request(text)?;
    let trimmed = text.trim_start();
    let first = trimmed.lines().next().unwrap_or("");
    let names_scheme = trimmed.starts_with("curl")
        || first.contains("://")
        || trimmed.lines().any(|l| l.starts_with(":scheme:"));
    if !names_scheme {
        r.scheme.clone_from(&current.scheme);
    }
    r.trailers = current.trailers.clone();
    Ok(r)
}

/// `POST https://api.example.com/v1 · 3 headers · 12-byte body`.
pub fn summary(r: &Request) -> String {
    let body = pwp_model::scenario::body_chunks(&r.body, &r.chunks)
        .map(|c| c.iter().map(Vec::len).sum::<usize>())
        .unwrap_or(0);
    format!(
        "Filled: {} {}://{}{} · {} headers · {}",
        r.method,
        r.scheme,
        r.authority,
        r.path,
        r.headers.0.len(),
        if body == 0 {
            "no body".to_string()
        } else {
            format!("{body}-byte body")
        }
    )
}

/// Applies an HTTP/2 pseudo-header line (`:path: /x`, as proxies log them).
fn pseudo_header(req: &mut Request, line: &str) -> Result<(), String> {
    let (k, v) = line[1..]
        .split_once(':')
        .ok_or(format!("header line {line:?} has no value"))?;
    let v = v.trim().to_string();
    match k {
        "method" => req.method = v.to_ascii_uppercase(),
        "path" => req.path = v,
        "authority" => req.authority = v,
        "scheme" => req.scheme = v,
        other => return Err(format!("unknown pseudo-header :{other}")),
    }
    Ok(())
}

fn parse_raw(text: &str) -> Result<Request, String> {
    let text = text.replace("\r\n", "\n");
    if text.starts_with(':') {
        return parse_pseudo(&text);
    }
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, Some(b)),
        None => (text.as_str(), None),
    };
    let mut lines = head.lines();
    let first = lines.next().ok_or("empty request")?;
    let mut parts = first.split_whitespace();
    let method = parts.next().ok_or("no method")?.to_ascii_uppercase();
    let target = parts.next().ok_or_else(|| {
        format!("{first:?} is not a request line: paste `METHOD /path HTTP/1.1` or a curl command")
    })?;
    let version = parts.next().unwrap_or("HTTP/1.1");
    let target_ok = target.starts_with('/') || target.contains("://") || target == "*";
    if !method.chars().all(|c| c.is_ascii_alphabetic())
        || !version.starts_with("HTTP/")
        || !target_ok
    {
        return Err(format!(
            "{first:?} is not a request line: paste `METHOD /path HTTP/1.1` or a curl command"
        ));
    }
    let mut req = Request {
        method,
        headers: Headers::default(),
        ..Request::default()
    };
    req.protocol = version.to_string();
    if target.contains("://") {
        set_url(&mut req, target)?;
    } else {
        req.path = target.to_string();
    }
    for line in lines {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(':') {
            pseudo_header(&mut req, line)?;
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or(format!("header line {line:?} has no ':'"))?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "host" {
            req.authority = v;
        } else {
            req.headers.0.push((k, v));
        }
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        req.body = Some(Body::Text(b.to_string()));
    }
    Ok(req)
}

/// A request written as HTTP/2 header lines, pseudo-headers first.
fn parse_pseudo(text: &str) -> Result<Request, String> {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, Some(b)),
        None => (text, None),
    };
    let mut req = Request {
        headers: Headers::default(),
        protocol: "HTTP/2".into(),
        ..Request::default()
    };
    for line in head.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with(':') {
            pseudo_header(&mut req, line)?;
        } else {
            let (k, v) = line
                .split_once(':')
                .ok_or(format!("header line {line:?} has no ':'"))?;
            req.headers
                .0
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        req.body = Some(Body::Text(b.to_string()));
    }
    Ok(req)
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Shows bytes as hex, 16 per line.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|c| {
            c.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads hex (whitespace ignored) back to bytes.
///
/// # Errors
///
/// Names the first character that is not a hex digit, or an odd digit count.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(bad) = digits.iter().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!("{bad:?} is not a hex digit"));
    }
    if digits.len() % 2 == 1 {
        return Err("an odd number of hex digits".into());
    }
    Ok(digits
        .chunks(2)
        .map(|p| u8::from_str_radix(&p.iter().collect::<String>(), 16).unwrap_or(0))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chrome_copy_as_curl_becomes_a_request() {
        let r = parse_request(
            "curl 'https://api.example.com/v1/orders?limit=10' \\\n  -H 'accept: application/json' \\\n  -H 'Authorization: Bearer abc' \\\n  --data-raw $'{\"a\":\"it\\'s\"}' \\\n  --compressed",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.scheme, "https");
        assert_eq!(r.authority, "api.example.com");
        assert_eq!(r.path, "/v1/orders?limit=10");
        assert_eq!(
            r.headers.0[1],
            ("authorization".into(), "Bearer abc".into())
        );
        assert_eq!(r.body, Some(Body::Text("{\"a\":\"it's\"}".into())));
    }

    #[test]
    fn curl_flags_set_method_user_and_host() {
        let r =
            parse_request("curl -X put -u alice:secret -H 'Host: internal' http://10.0.0.1:8080")
                .unwrap();
        assert_eq!(r.method, "PUT");
        assert_eq!(r.authority, "internal");
        assert_eq!(r.path, "/");
        assert_eq!(
            r.headers.0[0],
            ("authorization".into(), "Basic YWxpY2U6c2VjcmV0".into())
        );
    }

    #[test]
    fn a_raw_http_request_becomes_a_request() {
        let r = parse_request(
            "POST /login HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n\r\nhello",
        )
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.authority.as_str()),
            ("POST", "/login", "example.com")
        );
        assert_eq!(
            r.headers.0,
            vec![("content-type".into(), "text/plain".into())]
        );
        assert_eq!(r.body, Some(Body::Text("hello".into())));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        assert!(
            parse_request("hello world")
                .unwrap_err()
                .contains("request line")
        );
        assert!(
            parse_request("curl -H 'x: y'")
                .unwrap_err()
                .contains("no URL")
        );
        assert!(
            parse_request("curl 'unterminated")
                .unwrap_err()
                .contains("quote")
        );
    }

    #[test]
    fn pasting_keeps_trailers_and_an_unnamed_scheme() {
        let current = Request {
            scheme: "https".into(),
            trailers: Headers(vec![("grpc-status".into(), "0".into())]),
            ..Request::default()
        };
        let r = fill_request(&current, "GET /x HTTP/1.1\nHost: a").unwrap();
        assert_eq!((r.scheme.as_str(), r.trailers.0.len()), ("https", 1));
        let r = fill_request(&current, "curl http://a/b").unwrap();
        assert_eq!(r.scheme, "http");
        assert_eq!(summary(&r), "Filled: GET http://a/b · 0 headers · no body");
    }

    #[test]
    fn pseudo_headers_forms_and_get_data() {
        let r =
            parse_request(":method: post\n:path: /p\n:authority: h\n:scheme: https\nx-a: 1\n\nhi")
                .unwrap();
        assert_eq!(
            (
                r.method.as_str(),
                r.path.as_str(),
                r.authority.as_str(),
                r.scheme.as_str()
            ),
            ("POST", "/p", "h", "https")
        );
        assert_eq!(r.headers.0, vec![("x-a".into(), "1".into())]);
        assert_eq!(r.body, Some(Body::Text("hi".into())));
        assert!(
            parse_request("curl -F a=@f http://x")
                .unwrap_err()
                .contains("multipart")
        );
        let r = parse_request("curl -G -d q=1 -d r=2 http://x/s").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.body),
            ("GET", "/s?q=1&r=2", None)
        );
    }

    #[test]
    fn hex_round_trips_and_names_bad_digits() {
        let bytes = [0u8, 1, 0xfe, 0xff, 0x41];
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert_eq!(from_hex("0g").unwrap_err(), "'g' is not a hex digit");
        assert!(from_hex("abc").is_err());
    }
}
