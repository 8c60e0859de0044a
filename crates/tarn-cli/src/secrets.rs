//! Keeping credentials out of what the CLI prints.
//!
//! Table URIs are shown redacted by the library (`tarn_log::location::redact_uri`), but an
//! object store's own error can quote what it was given: a SAS token in a request URL, a
//! configuration value it could not parse. This module decides which strings are secret (the
//! values of secret-looking `-o KEY=VALUE` options and environment variables, the password
//! and query values of a URI on the command line, the private key of a service-account
//! JSON) and replaces every occurrence of them in a line before it is printed. It never
//! decides what is printed.

/// Values shorter than this are not treated as secrets: a real credential is longer, and
/// redacting `true` or `1` everywhere would garble messages.
const SHORTEST_SECRET: usize = 6;

/// Words in an option or environment variable name that mark its value as a secret.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "token",
    "sas",
    "key",
    "credential",
    "signature",
];

/// The secrets of this invocation.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    values: Vec<String>,
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

impl Secrets {
    /// The secrets in the command line (`args`) and the environment (`env`).
    pub(crate) fn collect(
        args: impl IntoIterator<Item = String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Secrets {
        let mut secrets = Secrets::default();
        for arg in args {
            if let Some((key, value)) = arg.split_once('=')
                && is_secret_name(key)
            {
                secrets.add(value);
            }
            if let Ok(url) = url::Url::parse(&arg)
                && url.has_host()
            {
                if let Some(password) = url.password() {
                    secrets.add(password);
                    if let Ok(decoded) = percent_decode(password) {
                        secrets.add(&decoded);
                    }
                }
                for (_, value) in url.query_pairs() {
                    secrets.add(&value);
                }
                if let Some(query) = url.query() {
                    secrets.add(query);
                }
            }
        }
        for (name, value) in env {
            let cloud = [
                "AWS_",
                "AZURE_",
                "AZURITE_",
                "GOOGLE_",
                "GCS_",
                "OBJECT_STORE_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix));
            if cloud && is_secret_name(&name) {
                secrets.add(&value);
            }
        }
        secrets
    }

    fn add(&mut self, value: &str) {
        if value.len() < SHORTEST_SECRET || self.values.iter().any(|v| v == value) {
            return;
        }
        // A service-account JSON: its private key may be quoted on its own.
        if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(value) {
            for (key, inner) in object {
                if let serde_json::Value::String(inner) = inner
                    && is_secret_name(&key)
                {
                    self.add(&inner);
                }
            }
        }
        self.values.push(value.to_owned());
        // Longest first, so that a secret containing another is replaced whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every secret replaced by `<redacted>`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.values {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<redacted>");
            }
        }
        out
    }
}

fn percent_decode(text: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_uris_and_the_environment_are_redacted() {
        let secrets = Secrets::collect(
            strings(&[
                "describe",
                "az://c/t?sv=2020&sig=SASTOKEN123",
                "-o",
                "aws_secret_access_key=AWSSECRET99",
                "-o",
                "allow_http=true",
                "s3://AKIA:URLSECRET77@bucket/t",
            ]),
            vec![
                (
                    "AZURE_STORAGE_ACCOUNT_KEY".to_owned(),
                    "ENVKEY12345".to_owned(),
                ),
                (
                    "GOOGLE_SERVICE_ACCOUNT_KEY".to_owned(),
                    r#"{"private_key": "PRIVATEKEY55", "client_email": "a@b"}"#.to_owned(),
                ),
                ("HOME".to_owned(), "/root/secretive".to_owned()),
            ],
        );
        let text = "error: GET https://x/?sig=SASTOKEN123 with AWSSECRET99, URLSECRET77, \
                    ENVKEY12345 and PRIVATEKEY55 failed; allow_http=true; /root/secretive";
        let redacted = secrets.redact(text);
        for secret in [
            "SASTOKEN123",
            "AWSSECRET99",
            "URLSECRET77",
            "ENVKEY12345",
            "PRIVATEKEY55",
        ] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert!(redacted.contains("allow_http=true"), "{redacted}");
        assert!(redacted.contains("/root/secretive"), "{redacted}");
    }
}
