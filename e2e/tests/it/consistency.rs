//! docker-compose.yml, the Dockerfile, deploy/ and `./floodgate` configure the same binaries; they must
//! agree with what those binaries accept. Each service's accepted environment variables come from
//! its own clap definition, so a renamed flag fails here rather than on a user's machine.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    process::Command,
};

use clap::CommandFactory as _;
use floodgate_runtime::ServiceCli;
use yaml_rust2::{Yaml, YamlLoader};

use crate::platform::SERVICES;

/// Every environment variable the service's binary reads, and those it cannot start without.
fn accepted_env(service: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let command = match service {
        "gateway" => ServiceCli::<floodgate_gateway::Config>::command(),
        "queue" => ServiceCli::<floodgate_queue::Config>::command(),
        "booking" => ServiceCli::<floodgate_booking::Config>::command(),
        "payment" => ServiceCli::<floodgate_payment::Config>::command(),
        "catalog" => ServiceCli::<floodgate_catalog::Config>::command(),
        other => panic!("unknown service {other}"),
    };
    let mut accepted = BTreeSet::new();
    let mut required = BTreeSet::new();
    for arg in command.get_arguments() {
        if let Some(env) = arg.get_env() {
            let env = env.to_string_lossy().into_owned();
            if arg.is_required_set() {
                required.insert(env.clone());
            }
            accepted.insert(env);
        }
    }
    (accepted, required)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).expect("docker-compose.yml");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

/// `ENV` names the Dockerfile gives every service image.
fn dockerfile_env() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let env_block = text.split("\nENV ").nth(1).expect("an ENV instruction");
    env_block
        .lines()
        .take_while(|line| line.trim_end().ends_with('\\') || line.contains('='))
        .filter_map(|line| line.trim().split('=').next())
        .map(str::to_owned)
        .collect()
}

/// The environment `./floodgate up` starts a service with.
fn floodgate_env(service: &str) -> BTreeMap<String, String> {
    let script = repo().join("floodgate");
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && service_env {service}", script.display()))
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "service_env failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn compose_runs_every_service_with_variables_its_binary_accepts() {
    let compose = compose();
    let image_env = dockerfile_env();
    for service in SERVICES {
        let definition = &compose["services"][service];
        assert!(!definition.is_badvalue(), "docker-compose.yml has no {service} service");
        assert_eq!(
            definition["build"]["args"]["SERVICE"].as_str(),
            Some(service),
            "{service} must build the {service} binary"
        );
        let env: BTreeSet<String> = definition["environment"]
            .as_hash()
            .expect("environment is a mapping")
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();

        let (accepted, required) = accepted_env(service);
        let unknown: Vec<_> = env.difference(&accepted).collect();
        assert!(unknown.is_empty(), "compose gives {service} variables it does not read: {unknown:?}");
        let unknown_in_image: Vec<_> = image_env.difference(&accepted).collect();
        assert!(
            unknown_in_image.is_empty(),
            "the Dockerfile sets variables {service} does not read: {unknown_in_image:?}"
        );
        let given: BTreeSet<String> = env.union(&image_env).cloned().collect();
        let missing: Vec<_> = required.difference(&given).collect();
        assert!(missing.is_empty(), "compose does not give {service} its required {missing:?}");
    }
}

#[test]
fn floodgate_up_runs_every_service_with_variables_its_binary_accepts() {
    for service in SERVICES {
        let env = floodgate_env(service);
        let (accepted, required) = accepted_env(service);
        let given: BTreeSet<String> = env.keys().cloned().collect();
        let unknown: Vec<_> = given.difference(&accepted).collect();
        assert!(unknown.is_empty(), "./floodgate gives {service} variables it does not read: {unknown:?}");
        let missing: Vec<_> = required.difference(&given).collect();
        assert!(missing.is_empty(), "./floodgate does not give {service} its required {missing:?}");
        for port in [&env["FLOODGATE_GRPC_ADDR"], &env["FLOODGATE_ADMIN_ADDR"]] {
            assert!(!port.ends_with(":5432") && !port.ends_with(":6379") && !port.ends_with(":9092"));
        }
    }
}

#[test]
fn the_gateway_is_pointed_at_every_other_service_in_both() {
    let compose = compose();
    let gateway = &compose["services"]["gateway"]["environment"];
    let local = floodgate_env("gateway");
    for upstream in SERVICES.iter().filter(|s| **s != "gateway") {
        let var = format!("FLOODGATE_{}_URL", upstream.to_uppercase());
        let url = gateway[var.as_str()].as_str().unwrap_or_default();
        assert!(url.contains(&format!("//{upstream}:")), "compose {var} = {url:?}");
        assert!(local.contains_key(&var), "./floodgate sets no {var}");
    }
}

/// The shared `floodgate-env` ConfigMap's variable names, from the kustomize base.
fn kustomize_configmap_env() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("deploy/base/kustomization.yaml")).expect("kustomization");
    let doc = YamlLoader::load_from_str(&text).expect("valid YAML").remove(0);
    doc["configMapGenerator"][0]["literals"]
        .as_vec()
        .expect("literals")
        .iter()
        .filter_map(|l| l.as_str()?.split_once('=').map(|(k, _)| k.to_owned()))
        .collect()
}

#[test]
fn kubernetes_runs_every_service_with_variables_its_binary_accepts() {
    let shared = kustomize_configmap_env();
    for service in SERVICES {
        let text = std::fs::read_to_string(repo().join(format!("deploy/base/{service}.yaml"))).expect("manifest");
        let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
        let deployment = docs.iter().find(|d| d["kind"].as_str() == Some("Deployment")).expect("a Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["name"].as_str(), Some(service));
        let own: BTreeSet<String> = container["env"]
            .as_vec()
            .map(|env| env.iter().filter_map(|e| e["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();

        let (accepted, required) = accepted_env(service);
        let given: BTreeSet<String> = own.union(&shared).cloned().collect();
        let unknown: Vec<_> = given.difference(&accepted).collect();
        assert!(unknown.is_empty(), "deploy/ gives {service} variables it does not read: {unknown:?}");
        let missing: Vec<_> = required.difference(&given).collect();
        assert!(missing.is_empty(), "deploy/ does not give {service} its required {missing:?}");
    }
}
