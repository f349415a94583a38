//! The redundancy analysis ([`palisade_engine::rules`], behind lint NP011) agrees with brute
//! force (remove the rule or policy, recompute pod-level connectivity, compare) on small random
//! models.

use palisade_engine::connectivity::{Level, compute};
use palisade_engine::rules::redundancy;
use palisade_engine::{Engine, RuleRef};
use palisade_load::{Input, LoadOptions, load};
use palisade_model::{Direction, Model, PortSet};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn peer(rng: &mut Rng) -> String {
    match rng.next() % 6 {
        0 => format!(
            "{{podSelector: {{matchLabels: {{app: {}}}}}}}",
            rng.pick(&["x", "y", "z"])
        ),
        1 => format!(
            "{{namespaceSelector: {{matchLabels: {{team: {}}}}}}}",
            rng.pick(&["a", "b"])
        ),
        2 => format!(
            "{{namespaceSelector: {{matchLabels: {{team: {}}}}}, podSelector: {{matchLabels: {{tier: \"{}\"}}}}}}",
            rng.pick(&["a", "b"]),
            rng.pick(&["1", "2"])
        ),
        3 => "{ipBlock: {cidr: 10.0.0.0/25}}".to_string(),
        4 => "{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/24]}}".to_string(),
        _ => "{podSelector: {}}".to_string(),
    }
}

fn ports(rng: &mut Rng) -> String {
    match rng.next() % 6 {
        0 => String::new(),
        1 => "    ports: [{port: 80}]\n".to_string(),
        2 => "    ports: [{port: http}]\n".to_string(),
        3 => "    ports: [{port: 80, endPort: 90}]\n".to_string(),
        4 => "    ports: [{protocol: UDP, port: 53}, {port: 80}]\n".to_string(),
        _ => "    ports: [{port: 8080}]\n".to_string(),
    }
}

fn rules(rng: &mut Rng, key: &str) -> String {
    let n = rng.next() % 3;
    if n == 0 {
        return String::new();
    }
    let mut out = format!("  {}:\n", if key == "from" { "ingress" } else { "egress" });
    for _ in 0..n {
        if rng.chance(15) {
            out.push_str("  - {}\n");
            continue;
        }
        let peers: Vec<String> = (0..1 + rng.next() % 2).map(|_| peer(rng)).collect();
        out.push_str(&format!("  - {key}: [{}]\n", peers.join(", ")));
        out.push_str(&ports(rng));
    }
    out
}

fn model_text(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for (ns, team) in [("na", "a"), ("nb", "b")] {
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{team: {team}}}}}\n"
        ));
    }
    for i in 0..5 {
        let ns = rng.pick(&["na", "nb"]);
        let app = rng.pick(&["x", "y", "z"]);
        let tier = rng.pick(&["1", "2"]);
        let port = rng.pick(&["80", "8080"]);
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: {ns}, labels: {{app: {app}, tier: \"{tier}\"}}}}\nspec: {{containers: [{{name: c, ports: [{{containerPort: {port}, name: http}}]}}]}}\nstatus: {{podIP: 10.0.0.{}}}\n",
            10 + i * 40
        ));
    }
    for i in 0..1 + rng.next() % 4 {
        let ns = rng.pick(&["na", "nb"]);
        let selector = match rng.next() % 3 {
            0 => "{}".to_string(),
            1 => format!("{{matchLabels: {{app: {}}}}}", rng.pick(&["x", "y", "z"])),
            _ => format!("{{matchLabels: {{tier: \"{}\"}}}}", rng.pick(&["1", "2"])),
        };
        let types = rng.pick(&["[Ingress]", "[Egress]", "[Ingress, Egress]"]);
        out.push_str(&format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np{i}, namespace: {ns}}}\nspec:\n  podSelector: {selector}\n  policyTypes: {types}\n"
        ));
        out.push_str(&rules(&mut rng, "from"));
        out.push_str(&rules(&mut rng, "to"));
    }
    out
}

fn load_model(text: &str) -> Model {
    let loaded = load(
        &[Input::Text {
            name: "m.yaml".into(),
            text: text.to_string(),
        }],
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{text}\n{:?}", loaded.diagnostics);
    loaded.model
}

fn connections(model: &Model) -> Vec<(String, String, PortSet)> {
    let engine = Engine::new(model);
    let c = compute(model, &engine, Level::Pod);
    c.connections
        .iter()
        .map(|x| {
            (
                c.peers[x.src].name.clone(),
                c.peers[x.dst].name.clone(),
                x.ports.clone(),
            )
        })
        .collect()
}

fn rules_of(model: &Model) -> Vec<RuleRef> {
    let mut out = Vec::new();
    for policy in model.policy_ids() {
        for direction in [Direction::Ingress, Direction::Egress] {
            for rule in 0..model.policies[policy.index()].rules(direction).len() {
                out.push(RuleRef {
                    policy,
                    direction,
                    rule: rule as u32,
                });
            }
        }
    }
    out
}

#[test]
fn fast_redundancy_agrees_with_brute_force() {
    let mut checked_rules = 0;
    let mut redundant_seen = 0;
    for seed in 0..150 {
        let text = model_text(seed);
        let model = load_model(&text);
        let engine = Engine::new(&model);
        let fast = redundancy(&model, &engine);
        let base = connections(&model);
        let selects = |m: &Model, p: usize| {
            let policy = &m.policies[p];
            m.pods.iter().any(|pod| {
                pod.namespace == policy.namespace && policy.pod_selector.matches(&pod.labels)
            })
        };
        for p in model.policy_ids() {
            if !selects(&model, p.index()) {
                continue;
            }
            let mut without = load_model(&text);
            without.policies.remove(p.index());
            let brute = connections(&without) == base;
            let reported = fast.policies.iter().any(|r| r.policy == p);
            assert_eq!(
                reported,
                brute,
                "seed {seed}: policy {}\n{text}",
                model.policy_name(p)
            );
            if reported {
                redundant_seen += 1;
                continue;
            }
            for r in rules_of(&model).into_iter().filter(|r| r.policy == p) {
                let mut without = load_model(&text);
                let policy = &mut without.policies[p.index()];
                match r.direction {
                    Direction::Ingress => policy.ingress.remove(r.rule as usize),
                    Direction::Egress => policy.egress.remove(r.rule as usize),
                };
                let brute = connections(&without) == base;
                let reported =
                    fast.rules.iter().any(|x| x.rule == r) || fast.inert_rules.contains(&r);
                assert_eq!(reported, brute, "seed {seed}: {r:?}\n{text}");
                checked_rules += 1;
                redundant_seen += usize::from(reported);
            }
        }
    }
    assert!(checked_rules > 200, "{checked_rules}");
    assert!(redundant_seen > 20, "{redundant_seen}");
}
