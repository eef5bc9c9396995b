//! Which way requests go: never through a proxy to a loopback or plain-http URL (the simulator,
//! `rehearse`), where the key, the bodies and the listing would otherwise cross a network in
//! clear to whoever runs the proxy; to an https API, through the proxy the environment names
//! for https (`HTTPS_PROXY`, else `ALL_PROXY`; `NO_PROXY` respected), if any, and said once on
//! standard error. `HTTP_PROXY` is never used: mailshift sends nothing over plain http that
//! leaves the machine.

/// The proxy for `base_url`, if one is to be used: the variable that named it and its URL.
pub(super) fn for_base(
    base_url: &str,
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'static str, String)> {
    let url = url::Url::parse(base_url).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if url.scheme() != "https" || loopback {
        return None;
    }
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .find_map(|name| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v.trim().to_owned()))
        })
}

/// A proxy URL fit to print: without its user name and password.
pub(super) fn shown(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => "(a proxy URL that does not parse)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn no_proxy_for_loopback_or_plain_http_and_only_the_https_one_for_https() {
        let all = env(&[
            ("HTTP_PROXY", "http://proxy.corp:3128"),
            ("ALL_PROXY", "http://user:secret@proxy.corp:3128"),
        ]);
        for base in [
            "http://127.0.0.1:8931",
            "http://localhost:1",
            "https://127.0.0.1:9",
            "https://[::1]:9",
            "https://LOCALHOST",
        ] {
            assert_eq!(for_base(base, &all), None, "{base}");
        }
        // HTTP_PROXY alone is not for https.
        let http_only = env(&[("HTTP_PROXY", "http://proxy.corp:3128")]);
        assert_eq!(for_base("https://api.atlassian.com", &http_only), None);
        let (name, url) = for_base("https://api.atlassian.com", &all).unwrap();
        assert_eq!(name, "ALL_PROXY");
        assert_eq!(shown(&url), "http://proxy.corp:3128/");
        let https = env(&[
            ("HTTPS_PROXY", "http://p2:8080"),
            ("ALL_PROXY", "http://p1:1"),
        ]);
        assert_eq!(
            for_base("https://api.atlassian.com", &https).unwrap().0,
            "HTTPS_PROXY"
        );
    }
}
