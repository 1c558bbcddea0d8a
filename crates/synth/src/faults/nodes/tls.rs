//! `tls-expired`: an expired certificate at the edge or on a Service, with the TLS
//! handshake errors its clients and ingress-nginx log.

use serde_json::json;

use crate::scenario::Fault;
use crate::signals::LogLine;
use crate::world::World;

use super::traffic::{ingress_lines, wire_ingress};
use super::{go_time, klog, managed};

// -- TLS -----------------------------------------------------------------------------------------

/// The edge certificate expired `since` minutes ago because cert-manager could not renew
/// it: the TLS Secret (`secret`, default shop-tls) carries cert-manager's annotations and
/// was last written by its issuing controller `validDays` (90) + since minutes ago; the
/// Ingress (`ingress`, storefront) names the ClusterIssuer; cert-manager's events on the
/// Certificate and its ACME Challenge say why renewal keeps failing (`challengeError`,
/// default an HTTP-01 `Timeout during connect (likely firewall problem)`); ingress-nginx
/// logs `SSL certificate for server "…" expired (…)` at every sync. Users' browsers
/// refuse the site (nothing of that reaches the cluster).
pub(super) fn tls_expired(world: &mut World, f: &Fault) -> Result<(), String> {
    let ns = f.namespace.clone();
    let secret = f.str("secret").unwrap_or("shop-tls").to_string();
    let ingress = f.str("ingress").unwrap_or("storefront").to_string();
    let s = f.since;
    let valid = f.num("validDays").unwrap_or(90.0) * 1440.0;
    let issued = s + valid;
    let renew_at = s + valid / 3.0;
    let hosts: Vec<String> = world
        .get("Ingress", &ns, &ingress)
        .and_then(|i| i["spec"]["tls"][0]["hosts"].as_array())
        .map(|h| {
            h.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let main = hosts.first().cloned().unwrap_or("shop.example.com".into());
    let issuer = f.str("issuer").unwrap_or("letsencrypt").to_string();
    let (issued_t, created_t) = (world.at(issued), world.at(issued + 2.0 * valid));
    {
        let sec = world
            .get_mut("Secret", &ns, &secret)
            .ok_or_else(|| format!("no Secret {ns}/{secret}"))?;
        let a = &mut sec["metadata"]["annotations"];
        a["cert-manager.io/alt-names"] = json!(hosts.join(","));
        a["cert-manager.io/certificate-name"] = json!(secret);
        a["cert-manager.io/common-name"] = json!(main);
        a["cert-manager.io/ip-sans"] = json!("");
        a["cert-manager.io/issuer-group"] = json!("cert-manager.io");
        a["cert-manager.io/issuer-kind"] = json!("ClusterIssuer");
        a["cert-manager.io/issuer-name"] = json!(issuer);
        a["cert-manager.io/uri-sans"] = json!("");
        sec["metadata"]["labels"]["controller.cert-manager.io/fao"] = json!("true");
        sec["metadata"]["creationTimestamp"] = json!(created_t);
        sec["metadata"]["managedFields"] = json!([
            managed(
                "cert-manager-certificates-key-manager",
                &created_t,
                json!({"f:type": {}})
            ),
            managed(
                "cert-manager-certificates-issuing",
                &issued_t,
                json!({"f:data": {".": {}, "f:tls.crt": {}, "f:tls.key": {}},
                    "f:metadata": {"f:annotations": {"f:cert-manager.io/alt-names": {}, "f:cert-manager.io/common-name": {}}}})
            )
        ]);
    }
    if let Some(i) = world.get_mut("Ingress", &ns, &ingress) {
        i["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] = json!(issuer);
    }
    // cert-manager: renewal has failed since renewBefore (a third of the lifetime).
    let order = format!(
        "{secret}-{}-{}",
        3,
        1_000_000_000 + world.rng.range(0, 999_999_999)
    );
    let challenge = format!(
        "{order}-{}",
        1_000_000_000 + world.rng.range(0, 999_999_999)
    );
    let token: String = (0..43)
        .map(|_| {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            A[world.rng.range(0, A.len() as u64 - 1) as usize] as char
        })
        .collect();
    let lb_ip = f.str("edgeIp").unwrap_or("52.48.112.9").to_string();
    let cause = f
        .str("challengeError")
        .map(str::to_string)
        .unwrap_or_else(|| "Timeout during connect (likely firewall problem)".to_string());
    let last_try = f.num("lastAttempt").unwrap_or((s * 0.45).max(3.0));
    let attempts = ((renew_at - s) / 1440.0 * 0.6).ceil().max(2.0) as u64;
    let cert_ref = ("Certificate", ns.as_str(), secret.as_str());
    world.event(
        cert_ref,
        "Warning",
        "Failed",
        &format!(
            "The certificate request has failed to complete and will be retried: Failed to wait for order resource \"{order}\" to become ready: order is in \"invalid\" state: "
        ),
        "cert-manager-certificates-issuing",
        renew_at,
        last_try,
        attempts,
    );
    world.event(
        ("Challenge", &ns, &challenge),
        "Warning",
        "Failed",
        &format!(
            "Accepting challenge authorization failed: acme: authorization error for {main}: 400 urn:ietf:params:acme:error:connection: {lb_ip}: Fetching http://{main}/.well-known/acme-challenge/{token}: {cause}"
        ),
        "cert-manager-challenges",
        last_try + 1.2,
        last_try + 0.4,
        1,
    );
    // Events name kinds cert-manager serves; fix their apiVersion.
    for (_, e) in world.names("Event", Some(&ns)) {
        if let Some(ev) = world.get_mut("Event", &ns, &e) {
            let kind = ev["involvedObject"]["kind"].as_str().unwrap_or_default();
            if kind == "Certificate" && ev["involvedObject"]["name"] == secret.as_str() {
                ev["involvedObject"]["apiVersion"] = json!("cert-manager.io/v1");
            } else if kind == "Challenge" {
                ev["involvedObject"]["apiVersion"] = json!("acme.cert-manager.io/v1");
            }
        }
    }
    // ingress-nginx: the expiry at every sync.
    wire_ingress(world);
    let expiry = go_time(world, s);
    let mut lines = Vec::new();
    let mut t = 58.0_f64.min(s + 50.0);
    let mut k = 0;
    while t > 0.3 {
        for h in &hosts {
            let text = if t <= s {
                format!("SSL certificate for server \"{h}\" expired ({expiry})")
            } else {
                format!("SSL certificate for server \"{h}\" is about to expire ({expiry})")
            };
            let at = t - 0.0037 * (k % 7) as f64 - 0.00011 * h.len() as f64;
            lines.push(LogLine {
                minutes_ago: at,
                text: klog(world, 'W', at, 7, "controller.go:1637", &text),
            });
        }
        k += 1;
        t -= 6.0 + (k % 3) as f64;
    }
    ingress_lines(world, lines);
    Ok(())
}
