//! Reading a Service: its cluster IP and ports, the selector and ports as text, and how
//! a live Service differs from its manifest.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The Service's cluster IP, if it has a real one.
pub fn cluster_ip(service: &Service) -> Option<String> {
    service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .filter(|ip| !ip.is_empty() && ip != "None")
}

/// The number of the first port.
pub fn first_port(service: &Service) -> Option<i32> {
    ports(service).first().map(|p| p.port)
}

/// An IP ready for a URL (IPv6 in brackets).
pub fn url_host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    }
}

/// The selector as `k=v,k=v`.
pub fn selector_text(service: &Service) -> String {
    let selector = service.spec.as_ref().and_then(|s| s.selector.as_ref());
    let parts: Vec<String> = selector
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(",")
}

/// The Service's ports (none without a spec).
pub fn ports(service: &Service) -> &[ServicePort] {
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
}

/// The ports as `80->8080 (node 30080), ...`.
pub fn ports_text(service: &Service) -> String {
    ports(service)
        .iter()
        .map(|p| {
            let node_port = p.node_port.map(|n| format!(" (node {n})"));
            let target = target_text(p.target_port.as_ref(), p.port);
            format!("{}->{target}{}", p.port, node_port.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn target_text(target: Option<&IntOrString>, port: i32) -> String {
    match target {
        Some(IntOrString::Int(n)) => n.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => port.to_string(),
    }
}

/// The differences between a Service's manifest and the live object: type, selector,
/// session affinity and ports (name, port, target port, protocol, node port where the
/// manifest fixes one).
pub fn compare_service(expected: &Service, live: &Service) -> Vec<String> {
    let (Some(want), Some(got)) = (expected.spec.as_ref(), live.spec.as_ref()) else {
        return vec!["no spec".into()];
    };
    let mut problems = Vec::new();
    let type_ = |spec: &ServiceSpec| spec.type_.clone().unwrap_or("ClusterIP".into());
    differ(&mut problems, "type", type_(want), type_(got));
    let selectors = (selector_text(expected), selector_text(live));
    differ(&mut problems, "selector", selectors.0, selectors.1);
    let affinity = |spec: &ServiceSpec| spec.session_affinity.clone().unwrap_or("None".into());
    differ(
        &mut problems,
        "sessionAffinity",
        affinity(want),
        affinity(got),
    );
    let (want_ports, got_ports) = (ports(expected), ports(live));
    let count = |ports: &[ServicePort]| ports.len().to_string();
    differ(
        &mut problems,
        "port count",
        count(want_ports),
        count(got_ports),
    );
    for port in want_ports {
        let n = port.port;
        let Some(live_port) = got_ports
            .iter()
            .find(|p| p.port == n && protocol(p) == protocol(port))
        else {
            problems.push(format!("no port {n}/{}", protocol(port)));
            continue;
        };
        let name = |p: &ServicePort| format!("{:?}", p.name.clone().unwrap_or_default());
        differ(
            &mut problems,
            &format!("port {n} named"),
            name(port),
            name(live_port),
        );
        let target = |p: &ServicePort| target_text(p.target_port.as_ref(), p.port);
        differ(
            &mut problems,
            &format!("port {n} targets"),
            target(port),
            target(live_port),
        );
        if let Some(node_port) = port.node_port {
            let got = live_port.node_port.map_or("none".into(), |n| n.to_string());
            differ(
                &mut problems,
                &format!("port {n} node port"),
                node_port.to_string(),
                got,
            );
        }
    }
    problems
}

/// Adds `WHAT GOT, manifest WANT` to `problems` when the two differ.
fn differ(problems: &mut Vec<String>, what: &str, want: String, got: String) {
    if want != got {
        problems.push(format!("{what} {got}, manifest {want}"));
    }
}

fn protocol(port: &ServicePort) -> &str {
    port.protocol.as_deref().unwrap_or("TCP")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn service(yaml: &str) -> Service {
        let object = manifest::parse_documents(yaml).unwrap().remove(0);
        object.try_parse().unwrap()
    }

    const QUIZ: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: quiz\nspec:\n  selector:\n    app: quiz\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n";

    #[test]
    fn services_compare() {
        let expected = service(QUIZ);
        let mut live = expected.clone();
        let spec = live.spec.as_mut().unwrap();
        spec.cluster_ip = Some("10.96.1.2".into());
        spec.type_ = Some("ClusterIP".into());
        spec.session_affinity = Some("None".into());
        spec.ports.as_mut().unwrap()[0].protocol = Some("TCP".into());
        assert!(compare_service(&expected, &live).is_empty());
        assert_eq!(cluster_ip(&live).as_deref(), Some("10.96.1.2"));

        let mut wrong = live.clone();
        let spec = wrong.spec.as_mut().unwrap();
        spec.selector
            .as_mut()
            .unwrap()
            .insert("rel".into(), "stable".into());
        spec.ports.as_mut().unwrap()[0].target_port = Some(IntOrString::Int(80));
        let problems = compare_service(&expected, &wrong);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].contains("targets 80, manifest 8080"));

        let mut moved = live.clone();
        moved.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 8080;
        assert!(
            compare_service(&expected, &moved)
                .iter()
                .any(|p| p.contains("no port 80/TCP"))
        );
        let mut headless = live;
        headless.spec.as_mut().unwrap().cluster_ip = Some("None".into());
        assert_eq!(cluster_ip(&headless), None);
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("10.96.0.1"), "10.96.0.1");
        assert_eq!(url_host("fd00::1"), "[fd00::1]");
    }
}
