//! Service discovery through the environment: a pod created after the Services has
//! their variables (`env.service-links`), one with `enableServiceLinks: false` has none
//! (`env.no-service-links`).

use std::collections::BTreeMap;

use kube::api::ListParams;

use super::*;
use crate::manifest::{self, Manifest};
use crate::parse::{self, EnvPort};
use crate::service;

impl Run<'_> {
    /// The `env` group.
    pub(super) async fn env(&self) {
        self.part("env.service-links", self.env_service_links())
            .await;
        self.part("env.no-service-links", self.env_no_service_links())
            .await;
    }

    pub(super) async fn env_pod(
        &self,
        object: &Manifest,
    ) -> Result<BTreeMap<String, String>, String> {
        self.start_pod(object).await?;
        let out = self.exec(object.name(), "env").await?;
        Ok(parse::parse_env(&out))
    }

    /// A copy of the client pod named `name` (not yet created).
    pub(super) fn client_copy(&self, name: &str) -> Result<Manifest, String> {
        let client = self.objects.get("Pod", CLIENT).map_err(reason)?;
        manifest::renamed_pod(client, name).map_err(reason)
    }

    pub(super) async fn env_service_links(&self) -> Result<String, String> {
        // A copy of the client pod, created now that every Service exists.
        let copy = self.client_copy("client-after-services")?;
        let (live, ip) = self.live_quiz().await?;
        let env = self.env_pod(&copy).await?;
        let ports: Vec<EnvPort> = service::ports(&live)
            .iter()
            .map(|p| EnvPort {
                name: p.name.clone(),
                port: p.port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect();
        let expected = parse::expected_service_env("quiz", &ip, &ports);
        let mismatches = parse::env_mismatches(&env, &expected);
        if !mismatches.is_empty() {
            return Err(mismatches.join("; "));
        }
        Ok(format!(
            "pod {}: {}",
            copy.name(),
            expected
                .iter()
                .filter(|(k, _)| k.ends_with("SERVICE_HOST")
                    || k.ends_with("SERVICE_PORT")
                    || k.as_str() == "QUIZ_PORT")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
    }

    pub(super) async fn env_no_service_links(&self) -> Result<String, String> {
        let object = self.objects.no_service_links.clone();
        let env = self.env_pod(&object).await?;
        let services = self
            .cluster
            .services()
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("listing Services: {:#}", api_error(e)))?;
        let names: Vec<String> = services
            .items
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let found = parse::service_link_vars(&env, &refs);
        if !found.is_empty() {
            return Err(format!(
                "pod {} has service variables: {}",
                object.name(),
                found.join(", ")
            ));
        }
        Ok(format!(
            "pod {}: no variables for the Services {}",
            object.name(),
            names.join(", ")
        ))
    }
}
