//! A Dockerfile that packages the module as an OCI "compat" image (`plugin.wasm` in one layer).

use super::{ExportOptions, Warnings, url_scheme};

/// `FROM scratch` + `COPY <file> ./plugin.wasm`, after comments saying how to build and push.
pub(super) fn dockerfile(o: &ExportOptions, sha256: Option<&str>, w: &mut Warnings) -> String {
    let image = o.image.trim();
    let reference = if !image.is_empty() && url_scheme(image) == "oci" {
        image.trim_start_matches("oci://").to_string()
    } else {
        if !image.is_empty() {
            w.warn(format!(
                "`{image}` is not an oci:// image: the commands use a placeholder reference"
            ));
        }
        format!("registry.example.com/plugins/{}:1.0.0", o.name)
    };
    let file = o.wasm_file.trim();
    let file = if file.is_empty() { "plugin.wasm" } else { file };
    // A file name with spaces or quotes needs the JSON form of COPY.
    let copy = if file
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        format!(
            "COPY [{}, \"./plugin.wasm\"]",
            serde_json::Value::String(file.to_string())
        )
    } else {
        format!("COPY {file} ./plugin.wasm")
    };
    let mut out = String::new();
    out.push_str(
        "# Packages the proxy-wasm module as an OCI image that Istio and Higress can pull\n",
    );
    out.push_str("# (the \"compat\" layout: one layer holding plugin.wasm).\n");
    match sha256 {
        Some(sha) => out.push_str(&format!("# sha256 of {file}: {sha}\n")),
        None => out.push_str(&format!("# Check the module with: sha256sum {file}\n")),
    }
    out.push_str("#\n# Build and push with Docker (run next to the .wasm file):\n");
    out.push_str(&format!(
        "#   docker buildx build --platform linux/amd64 --provenance=false -t {reference} --push .\n"
    ));
    out.push_str("# Or push without Docker, with ORAS (the layout Higress uses):\n");
    if file == "plugin.wasm" {
        out.push_str("#   tar czf plugin.tar.gz plugin.wasm\n");
    } else {
        out.push_str(&format!(
            "#   cp {} plugin.wasm && tar czf plugin.tar.gz plugin.wasm\n",
            shell_word(file)
        ));
    }
    out.push_str(&format!(
        "#   oras push {reference} plugin.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip\n"
    ));
    out.push_str(&format!("# Then use url: oci://{reference}\n"));
    out.push_str(
        "# The sha256 field of a WasmPlugin is the image manifest digest that the push prints,\n",
    );
    out.push_str("# not the module's sha256.\n");
    out.push_str("FROM scratch\n");
    out.push_str(&copy);
    out.push('\n');
    out
}

/// Quotes a file name for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExportFormat, ExportOptions, export};

    #[test]
    fn the_dockerfile_copies_the_module_as_plugin_wasm() {
        let o = ExportOptions {
            image: "oci://registry.example.com/plugins/foo:1.0.0".into(),
            wasm_file: "foo.wasm".into(),
            ..ExportOptions::default()
        };
        let sha = "cd".repeat(32);
        let e = export(
            ExportFormat::Dockerfile,
            &o,
            &serde_json::json!({"a": 1}),
            Some(&sha),
            Some("0_2_100"),
        );
        let instructions: Vec<&str> = e
            .text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect();
        assert_eq!(
            instructions,
            ["FROM scratch", "COPY foo.wasm ./plugin.wasm"],
            "{}",
            e.text
        );
        for needle in [
            format!("sha256 of foo.wasm: {sha}"),
            "docker buildx build --platform linux/amd64 --provenance=false -t registry.example.com/plugins/foo:1.0.0 --push .".into(),
            "oras push registry.example.com/plugins/foo:1.0.0 plugin.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip".into(),
        ] {
            assert!(e.text.contains(&needle), "{needle}\n{}", e.text);
        }
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn odd_file_names_are_quoted() {
        let o = ExportOptions {
            wasm_file: "my plugin.wasm".into(),
            ..ExportOptions::default()
        };
        let e = export(
            ExportFormat::Dockerfile,
            &o,
            &serde_json::Value::Null,
            None,
            None,
        );
        assert!(
            e.text
                .contains(r#"COPY ["my plugin.wasm", "./plugin.wasm"]"#),
            "{}",
            e.text
        );
        assert!(
            e.text.contains("cp 'my plugin.wasm' plugin.wasm"),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains("registry.example.com/plugins/my-plugin:1.0.0"),
            "{}",
            e.text
        );
    }
}
