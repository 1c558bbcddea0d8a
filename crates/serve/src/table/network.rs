//! Networking printers: Service, Endpoints, EndpointSlice, Ingress, IngressClass,
//! NetworkPolicy.
//!
//! Together because they share the load-balancer address and "first three, + N more..."
//! list formatting that the real printers use for addresses and ports.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::cells::{
    age, at, format_label_selector, format_labels, int_at, join_host_port, list_at, map_at,
    name_of, opt_int_at, or_placeholder, str_at,
};
use super::{AGE, Col, NAME, Row, c, w};

pub(super) fn service_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Type",
            "string",
            "type determines how the Service is exposed.",
        ),
        c(
            "Cluster-IP",
            "string",
            "clusterIP is the IP address of the service and is usually assigned randomly.",
        ),
        c(
            "External-IP",
            "string",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        ),
        c(
            "Port(s)",
            "string",
            "The list of ports that are exposed by this service.",
        ),
        AGE,
        w(
            "Selector",
            "string",
            "Route service traffic to pods with label keys and values matching this selector.",
        ),
    ]
}

/// `loadBalancerStatusStringer` (wide): sorted, de-duplicated IPs or hostnames.
fn load_balancer_ingress(obj: &Value) -> String {
    let set: BTreeSet<&str> = list_at(obj, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, &["ip"]);
            let host = str_at(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

/// `printService`: the EXTERNAL-IP placeholders and `port[:nodePort]/proto` list.
pub(super) fn print_service(svc: &Value, now: Timestamp) -> Row {
    let ty = str_at(svc, &["spec", "type"]);
    let mut cluster_ip = list_at(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or("");
    if cluster_ip.is_empty() {
        cluster_ip = str_at(svc, &["spec", "clusterIP"]);
    }
    let external_ips: Vec<&str> = list_at(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external = match ty {
        "ClusterIP" | "NodePort" => {
            if external_ips.is_empty() {
                "<none>".to_string()
            } else {
                external_ips.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(svc);
            if !external_ips.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external_ips.iter().copied());
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = list_at(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let proto = or_placeholder(str_at(p, &["protocol"]), "TCP");
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    Row::new(vec![
        json!(name_of(svc)),
        json!(ty),
        json!(or_placeholder(cluster_ip, "<none>")),
        json!(external),
        json!(or_placeholder(&ports.join(","), "<none>")),
        age(svc, now),
        json!(format_labels(map_at(svc, &["spec", "selector"]))),
    ])
}

pub(super) fn endpoints_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Endpoints",
            "string",
            "The set of all endpoints is the union of all subsets.",
        ),
        AGE,
    ]
}

/// `formatEndpoints`: first three `ip:port`, then "+ N more...".
pub(super) fn print_endpoints(ep: &Value, now: Timestamp) -> Row {
    const MAX: usize = 3;
    let subsets = list_at(ep, &["subsets"]);
    let text = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let mut list: Vec<String> = Vec::new();
        let mut more = false;
        let mut count = 0usize;
        for ss in subsets {
            let addresses = list_at(ss, &["addresses"]);
            let ports = list_at(ss, &["ports"]);
            if ports.is_empty() {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(str_at(a, &["ip"]).to_string());
                }
                continue;
            }
            for p in ports {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
                }
            }
        }
        let joined = list.join(",");
        if more {
            format!("{joined} + {} more...", count.saturating_sub(MAX))
        } else {
            joined
        }
    };
    Row::new(vec![json!(name_of(ep)), json!(text), age(ep, now)])
}

/// `listWithMoreString`: first three, "+ N more...", "<unset>" when empty.
fn list_with_more(items: Vec<String>) -> String {
    const MAX: usize = 3;
    let count = items.len();
    let shown: Vec<String> = items.into_iter().take(MAX).collect();
    let joined = shown.join(",");
    if count > MAX {
        format!("{joined} + {} more...", count - MAX)
    } else if joined.is_empty() {
        "<unset>".into()
    } else {
        joined
    }
}

pub(super) fn endpoint_slice_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "AddressType",
            "string",
            "addressType specifies the type of address carried by this EndpointSlice.",
        ),
        c(
            "Ports",
            "string",
            "ports specifies the list of network ports exposed by each endpoint in this slice.",
        ),
        c(
            "Endpoints",
            "string",
            "endpoints is a list of unique endpoints in this slice.",
        ),
        AGE,
    ]
}

pub(super) fn print_endpoint_slice(es: &Value, now: Timestamp) -> Row {
    let ports = list_at(es, &["ports"])
        .iter()
        .map(|p| match opt_int_at(p, &["port"]) {
            Some(n) => n.to_string(),
            None => match at(p, &["name"]).and_then(Value::as_str) {
                Some(name) => name.to_string(),
                None => "*".into(),
            },
        })
        .collect();
    let endpoints = list_at(es, &["endpoints"])
        .iter()
        .flat_map(|e| list_at(e, &["addresses"]))
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    Row::new(vec![
        json!(name_of(es)),
        json!(str_at(es, &["addressType"])),
        json!(list_with_more(ports)),
        json!(list_with_more(endpoints)),
        age(es, now),
    ])
}

pub(super) fn ingress_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        c(
            "Hosts",
            "string",
            "Hosts that incoming requests are matched against before the ingress rule",
        ),
        c(
            "Address",
            "string",
            "Address is a list containing ingress points for the load-balancer",
        ),
        c("Ports", "string", "Ports of TLS configurations that open"),
        AGE,
    ]
}

/// `printIngress`: hosts ("*" when none), LB address, "80" or "80, 443".
pub(super) fn print_ingress(ing: &Value, now: Timestamp) -> Row {
    const MAX: usize = 3;
    let rules = list_at(ing, &["spec", "rules"]);
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_string()
    } else if more {
        format!(
            "{} + {} more...",
            hosts.join(","),
            rules.len().saturating_sub(MAX)
        )
    } else {
        hosts.join(",")
    };
    let ports = if list_at(ing, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    Row::new(vec![
        json!(name_of(ing)),
        json!(or_placeholder(
            str_at(ing, &["spec", "ingressClassName"]),
            "<none>"
        )),
        json!(hosts),
        json!(load_balancer_ingress(ing)),
        json!(ports),
        age(ing, now),
    ])
}

pub(super) fn ingress_class_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Controller",
            "string",
            "Controller that is responsible for handling this class",
        ),
        c(
            "Parameters",
            "string",
            "A reference to a resource with additional parameters",
        ),
        AGE,
    ]
}

pub(super) fn print_ingress_class(ic: &Value, now: Timestamp) -> Row {
    let parameters = match at(ic, &["spec", "parameters"]) {
        Some(p) => {
            let mut s = str_at(p, &["kind"]).to_string();
            if let Some(group) = at(p, &["apiGroup"]).and_then(Value::as_str) {
                s = format!("{s}.{group}");
            }
            format!("{s}/{}", str_at(p, &["name"]))
        }
        None => "<none>".into(),
    };
    Row::new(vec![
        json!(name_of(ic)),
        json!(str_at(ic, &["spec", "controller"])),
        json!(parameters),
        age(ic, now),
    ])
}

pub(super) fn network_policy_columns() -> Vec<Col> {
    vec![
        NAME,
        c(
            "Pod-Selector",
            "string",
            "Selects the pods to which this NetworkPolicy object applies.",
        ),
        AGE,
    ]
}

pub(super) fn print_network_policy(np: &Value, now: Timestamp) -> Row {
    // podSelector is a non-pointer struct: absent means the empty (select-all) selector.
    let selector = at(np, &["spec", "podSelector"])
        .cloned()
        .unwrap_or_else(|| json!({}));
    Row::new(vec![
        json!(name_of(np)),
        json!(format_label_selector(Some(&selector))),
        age(np, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::{build, cell, column_names};

    #[test]
    fn services() {
        let svc = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:55:00Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "selector": {"tier": "front", "app": "web"},
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080},
                          {"port": 443, "protocol": "TCP"}]}
        });
        let t = build("", "Service", &svc);
        assert_eq!(
            column_names(&t),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector"
            ]
        );
        assert_eq!(cell(&t, 0, "Type"), "NodePort");
        assert_eq!(cell(&t, 0, "Cluster-IP"), "10.96.0.10");
        assert_eq!(cell(&t, 0, "External-IP"), "<none>");
        assert_eq!(cell(&t, 0, "Port(s)"), "80:30080/TCP,443/TCP");
        assert_eq!(cell(&t, 0, "Age"), "5m");
        assert_eq!(cell(&t, 0, "Selector"), "app=web,tier=front");

        let lb = json!({"metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "clusterIP": "None"}});
        let t = build("", "Service", &lb);
        assert_eq!(cell(&t, 0, "External-IP"), "<pending>");
        assert_eq!(cell(&t, 0, "Cluster-IP"), "None");
        assert_eq!(cell(&t, 0, "Port(s)"), "<none>");
        assert_eq!(cell(&t, 0, "Selector"), "<none>");
    }
}
