//! compose and kubernetes output parsed back into typed structures (unknown fields are
//! errors, so a misspelt key fails here) and checked field by field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::order::with_order;
use super::{export, ok, options, representative, temp};
use crate::export::{ExportError, Format};
use crate::plan::Plan;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeFile {
    name: String,
    services: BTreeMap<String, ComposeService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeService {
    image: Option<String>,
    build: Option<String>,
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    ports: Option<Vec<String>>,
    restart: String,
    stop_signal: String,
    stop_grace_period: String,
    deploy: ComposeDeploy,
    depends_on: Option<BTreeMap<String, ComposeDependency>>,
    healthcheck: Option<ComposeHealthcheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeDependency {
    condition: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeHealthcheck {
    test: Vec<String>,
    interval: String,
    start_period: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComposeDeploy {
    replicas: u32,
}

fn compose(plan: &Plan, image: Option<&str>) -> (ComposeFile, String) {
    let dir = temp();
    let mut options = options(Format::Compose, dir.path());
    options.image = image.map(str::to_owned);
    ok(export(plan, &options));
    let text = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap_or_default();
    let file = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (file, text)
}

/// What compose makes of a value: `$$` is a literal `$`.
fn uncompose(value: &str) -> String {
    value.replace("$$", "$")
}

#[test]
fn compose_has_a_service_per_type_with_replicas_env_and_ports() {
    let mut plan = representative(Path::new("/srv/shop"));
    plan.env.push(("DOLLARS".to_owned(), "costs $5 or ${PRICE}".to_owned()));
    let (file, _) = compose(&plan, Some("registry.example/shop:1.4.2"));
    assert_eq!(file.name, "shop");
    assert_eq!(file.services.keys().collect::<Vec<_>>(), ["clock", "web", "worker"]);

    let web = &file.services["web"];
    assert_eq!(web.image.as_deref(), Some("registry.example/shop:1.4.2"));
    assert_eq!(web.build, None);
    assert_eq!(web.deploy.replicas, 2);
    assert_eq!(web.command[..2], ["/bin/sh", "-c"]);
    assert_eq!(uncompose(&web.command[2]), plan.processes[0].command);
    assert_eq!(web.environment["PORT"], "5000");
    assert_eq!(web.environment["RACK_ENV"], "production");
    assert_eq!(web.environment["GREETING"], "hello, world");
    assert_eq!(uncompose(&web.environment["DOLLARS"]), "costs $5 or ${PRICE}");
    // The host ports Foreman would give web.1 and web.2, onto the container's PORT.
    assert_eq!(web.ports.as_deref(), Some(&["5000-5001:5000".to_owned()][..]));
    assert_eq!(web.restart, "always");
    assert_eq!(web.stop_signal, "SIGTERM");
    assert_eq!(web.stop_grace_period, "5s");

    let worker = &file.services["worker"];
    assert_eq!(worker.deploy.replicas, 1);
    assert_eq!(worker.environment["PORT"], "5100");
    assert_eq!(worker.environment["MALLOC_ARENA_MAX"], "2");
    assert_eq!(worker.ports, None, "a worker does not listen");

    let clock = &file.services["clock"];
    assert_eq!(clock.deploy.replicas, 0);
    assert_eq!(clock.environment["PORT"], "5200");
}

#[test]
fn compose_builds_the_root_without_an_image() {
    let plan = representative(Path::new("/srv/shop"));
    let (file, _) = compose(&plan, None);
    let web = &file.services["web"];
    assert_eq!(web.image, None);
    assert_eq!(web.build.as_deref(), Some("/srv/shop"));
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
enum Resource {
    ConfigMap {
        #[serde(rename = "apiVersion")]
        api_version: String,
        metadata: Metadata,
        data: BTreeMap<String, String>,
    },
    Deployment {
        #[serde(rename = "apiVersion")]
        api_version: String,
        metadata: Metadata,
        spec: DeploymentSpec,
    },
    Service {
        #[serde(rename = "apiVersion")]
        api_version: String,
        metadata: Metadata,
        spec: ServiceSpec,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: Option<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeploymentSpec {
    replicas: u32,
    selector: Selector,
    template: PodTemplate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodTemplate {
    metadata: Metadata,
    spec: PodSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PodSpec {
    termination_grace_period_seconds: u64,
    containers: Vec<Container>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    command: Vec<String>,
    env_from: Vec<EnvFrom>,
    env: Vec<EnvVar>,
    ports: Option<Vec<ContainerPort>>,
    readiness_probe: Option<Probe>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Probe {
    tcp_socket: Option<TcpSocket>,
    exec: Option<ExecAction>,
    period_seconds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpSocket {
    port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecAction {
    command: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvFrom {
    config_map_ref: NameRef,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameRef {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvVar {
    name: String,
    value: Option<String>,
    value_from: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContainerPort {
    name: String,
    container_port: u16,
    protocol: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceSpec {
    selector: BTreeMap<String, String>,
    ports: Vec<ServicePort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServicePort {
    name: String,
    port: u16,
    target_port: String,
    protocol: String,
}

fn kubernetes(plan: &Plan) -> Vec<Resource> {
    let dir = temp();
    let mut options = options(Format::Kubernetes, dir.path());
    options.image = Some("registry.example/shop:1.4.2".to_owned());
    ok(export(plan, &options));
    let text = std::fs::read_to_string(dir.path().join("shop.yaml")).unwrap_or_default();
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Resource::deserialize(doc).unwrap_or_else(|e| panic!("{e}\n{text}")))
        .collect()
}

#[test]
fn kubernetes_has_a_configmap_deployments_and_services_for_listeners() {
    let mut plan = representative(Path::new("/srv/shop"));
    plan.processes[1].command = "sidekiq -e $(RAILS_ENV) --tag $$".to_owned();
    let resources = kubernetes(&plan);
    let kinds: Vec<String> = resources
        .iter()
        .map(|r| match r {
            Resource::ConfigMap { metadata, .. } => {
                format!("ConfigMap/{}", metadata.name.as_deref().unwrap_or(""))
            }
            Resource::Deployment { metadata, .. } => {
                format!("Deployment/{}", metadata.name.as_deref().unwrap_or(""))
            }
            Resource::Service { metadata, .. } => {
                format!("Service/{}", metadata.name.as_deref().unwrap_or(""))
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap/shop-env",
            "Deployment/shop-web",
            "Service/shop-web",
            "Deployment/shop-worker",
            "Deployment/shop-clock"
        ]
    );

    let Resource::ConfigMap { api_version, data, .. } = &resources[0] else { panic!() };
    assert_eq!(api_version, "v1");
    assert_eq!(data.get("GREETING").map(String::as_str), Some("hello, world"));
    assert_eq!(
        data.get("DATABASE_URL").map(String::as_str),
        Some("postgres://shop:s3cret@db.internal:5432/shop")
    );
    assert_eq!(data.len(), 3);

    let Resource::Deployment { api_version, metadata, spec } = &resources[1] else { panic!() };
    assert_eq!(api_version, "apps/v1");
    assert_eq!(metadata.labels["app.kubernetes.io/component"], "web");
    assert_eq!(spec.replicas, 2);
    assert_eq!(spec.selector.match_labels, spec.template.metadata.labels);
    assert_eq!(spec.template.spec.termination_grace_period_seconds, 5);
    let container = &spec.template.spec.containers[0];
    assert_eq!(container.name, "web");
    assert_eq!(container.image, "registry.example/shop:1.4.2");
    assert_eq!(
        container.command,
        ["/bin/sh", "-c", "bundle exec puma -p $$PORT -C config/puma.rb"]
    );
    assert_eq!(container.env_from[0].config_map_ref.name, "shop-env");
    assert_eq!(container.env[0].name, "PORT");
    assert_eq!(container.env[0].value.as_deref(), Some("5000"));
    assert_eq!(container.env[1].name, "PS");
    assert!(container.env[1].value_from.is_some());
    let ports = container.ports.as_deref().unwrap_or_default();
    assert_eq!(
        (ports[0].name.as_str(), ports[0].container_port, ports[0].protocol.as_str()),
        ("http", 5000, "TCP")
    );

    let Resource::Service { api_version, spec, .. } = &resources[2] else { panic!() };
    assert_eq!(api_version, "v1");
    assert_eq!(
        spec.selector,
        [
            ("app.kubernetes.io/component".to_owned(), "web".to_owned()),
            ("app.kubernetes.io/name".to_owned(), "shop".to_owned()),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!((spec.ports[0].port, spec.ports[0].target_port.as_str()), (5000, "http"));
    assert_eq!((spec.ports[0].name.as_str(), spec.ports[0].protocol.as_str()), ("http", "TCP"));

    let Resource::Deployment { spec, .. } = &resources[3] else { panic!() };
    assert_eq!(spec.replicas, 1);
    let container = &spec.template.spec.containers[0];
    // Kubernetes reads `$$` as `$`, so `$(RAILS_ENV)` is not expanded by the kubelet.
    assert_eq!(container.command[2], "sidekiq -e $$(RAILS_ENV) --tag $$$$");
    assert_eq!(container.env[0].value.as_deref(), Some("5100"));
    assert_eq!(container.env[2].name, "MALLOC_ARENA_MAX");
    assert_eq!(container.env[2].value.as_deref(), Some("2"));
    assert!(container.ports.is_none(), "a worker does not listen");

    let Resource::Deployment { spec, .. } = &resources[4] else { panic!() };
    assert_eq!(spec.replicas, 0, "count 0 keeps a Deployment scaled to zero");
}

#[test]
fn kubernetes_needs_an_image_and_valid_names() {
    let plan = representative(Path::new("/srv/shop"));
    let mut options = options(Format::Kubernetes, "/nonexistent/x");
    options.dry_run = true;
    let error = export(&plan, &options).err();
    assert!(matches!(error, Some(ExportError::MissingImage { format: "kubernetes" })), "{error:?}");

    options.image = Some("shop:1".to_owned());
    let mut plan = plan;
    plan.processes[2].name = "WEB".to_owned();
    let message = export(&plan, &options).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        message,
        "process name `WEB` cannot be used: it gives the Kubernetes name `shop-web` of another process type"
    );
}

#[test]
fn compose_and_kubernetes_carry_start_order_and_readiness_in_their_own_fields() {
    let mut plan = with_order(Path::new("/srv/shop"));
    plan.processes[3].settings.ready = Some(crate::plan::startup::Ready {
        check: crate::plan::startup::ReadyCheck::Command("bin/rails db:migrate:status".into()),
        interval: None,
        timeout: None,
    });
    let (file, _) = compose(&plan, Some("registry.example/shop:1.4.2"));
    let condition = |service: &str, on: &str| {
        file.services[service].depends_on.as_ref().map(|d| d[on].condition.clone())
    };
    assert_eq!(condition("web", "migrate").as_deref(), Some("service_completed_successfully"));
    assert_eq!(condition("worker", "web").as_deref(), Some("service_healthy"));
    assert!(file.services["worker"].depends_on.as_ref().is_some_and(|d| d.len() == 1));
    let health = file.services["web"].healthcheck.as_ref().expect("web's healthcheck");
    assert_eq!(health.test[0], "CMD-SHELL");
    assert_eq!(uncompose(&health.test[1]), "bash -c ': </dev/tcp/localhost/${PORT}'");
    assert_eq!((health.interval.as_str(), health.start_period.as_str()), ("1s", "30s"));
    assert!(file.services["worker"].healthcheck.is_none(), "a log line is no healthcheck");
    assert_eq!(file.services["migrate"].restart, "no", "a one-shot job runs once");

    let resources = kubernetes(&plan);
    let probes: Vec<Option<&Probe>> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::Deployment { spec, .. } => {
                Some(spec.template.spec.containers[0].readiness_probe.as_ref())
            }
            _ => None,
        })
        .collect();
    let web = probes[0].expect("web's probe");
    assert_eq!(web.tcp_socket.as_ref().map(|t| t.port), Some(5000), "web's own PORT");
    assert!(web.exec.is_none());
    assert_eq!(web.period_seconds, 1);
    assert!(probes[1].is_none(), "worker's log line is no probe");
    let migrate = probes[3].expect("migrate's probe");
    assert_eq!(
        migrate.exec.as_ref().map(|e| e.command.clone()),
        Some(vec!["/bin/sh".into(), "-c".into(), "bin/rails db:migrate:status".into()])
    );
    assert!(migrate.tcp_socket.is_none());
}
