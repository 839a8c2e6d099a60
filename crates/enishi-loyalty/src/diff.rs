//! What changes between two programme documents, section by section, in words a person
//! reads: the entries of a list (rules, promotions, stamp cards, tier levels, rewards,
//! membership plans) added, removed or changed, and each changed field with its value
//! before and after.
//!
//! The comparison works on the documents as JSON, so a field or section added to the
//! document later shows in the diff without any change here. Lists of entries are matched by
//! `id`, or by `name` where entries have no id (rules).

use crate::program::Document;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The sections in the order the document describes them; others follow by name.
const ORDER: &[&str] = &[
    "name",
    "effective_from",
    "earning",
    "pending_days",
    "expiry",
    "rules",
    "promotions",
    "stamp_cards",
    "tiers",
    "rewards",
    "memberships",
    "referrals",
    "birthday",
    "join",
];

/// A field whose value changed: its path inside its section or entry (`when.skus`,
/// `repeat.from`), and its value before and after as text (none: not set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Path of the field.
    pub path: String,
    /// Value before (none: not set).
    pub before: Option<String>,
    /// Value after (none: not set).
    pub after: Option<String>,
}

/// What happened to one entry of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryChangeKind {
    /// Only in the new document.
    Added,
    /// Only in the old one.
    Removed,
    /// In both, with different fields.
    Changed,
}

/// An entry of a list that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryChange {
    /// What happened.
    pub kind: EntryChangeKind,
    /// The key it was matched by (its id, or its name).
    pub key: String,
    /// Its `name` (from the new document when it is there).
    pub name: String,
    /// Its names by language (`names`), as the document has them.
    pub names: BTreeMap<String, String>,
    /// The fields that changed (for a changed entry), or its fields (added, removed).
    pub fields: Vec<FieldChange>,
}

impl EntryChange {
    /// The entry's name in `lang` (`ja`, `en`): its own, or `name`, or the key.
    pub fn name_in(&self, lang: &str) -> &str {
        match self.names.get(lang) {
            Some(n) => n,
            None if !self.name.is_empty() => &self.name,
            None => &self.key,
        }
    }
}

/// The changes of one section: the document's top-level field (`earning`, `promotions`), or
/// a list inside one (`tiers.levels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionChange {
    /// The section's path.
    pub section: String,
    /// Fields of the section itself that changed (for a section that is not a list).
    pub fields: Vec<FieldChange>,
    /// Entries added, removed or changed (for a list).
    pub entries: Vec<EntryChange>,
    /// Whether the entries in both documents are in a different order (rules apply in order).
    pub reordered: bool,
}

/// Every section that differs between `before` (none: no programme yet) and `after`, in the
/// document's order; empty when they are the same.
pub fn diff(before: Option<&Document>, after: &Document) -> Vec<SectionChange> {
    let old = before.map_or_else(|| Value::Object(Map::new()), to_value);
    let new = to_value(after);
    let (old, new) = (object(&old), object(&new));
    let mut keys: Vec<&str> = ORDER.to_vec();
    let mut rest: Vec<&str> = old.keys().chain(new.keys()).map(String::as_str).filter(|k| !ORDER.contains(k)).collect();
    rest.sort_unstable();
    rest.dedup();
    keys.extend(rest);
    let mut out = Vec::new();
    for key in keys {
        section(key, old.get(key), new.get(key), &mut out);
    }
    out
}

fn to_value(doc: &Document) -> Value {
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Whether `v` is a list of entries (objects), or an empty list.
fn is_list(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| a.iter().all(Value::is_object))
}

fn absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn section(key: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<SectionChange>) {
    if old == new || (absent(old) && absent(new)) {
        return;
    }
    let either_list = |v: Option<&Value>| is_list(v) && !absent(v);
    if (either_list(old) || either_list(new)) && (is_list(old) || absent(old)) && (is_list(new) || absent(new)) {
        let (entries, reordered) = entries(old, new);
        if !entries.is_empty() || reordered {
            out.push(SectionChange { section: key.to_string(), fields: Vec::new(), entries, reordered });
        }
        return;
    }
    // A section that is an object: its own fields, and any list inside it as a section.
    let (mut old_leaves, mut new_leaves) = (BTreeMap::new(), BTreeMap::new());
    let mut lists = Vec::new();
    for (side, leaves) in [(old, &mut old_leaves), (new, &mut new_leaves)] {
        match side {
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    if is_list(Some(v)) && v.as_array().is_some_and(|a| !a.is_empty()) {
                        if !lists.contains(k) {
                            lists.push(k.clone());
                        }
                    } else {
                        flatten(k, v, leaves);
                    }
                }
            }
            Some(v) => flatten("", v, leaves),
            None => {}
        }
    }
    let fields = compare(&old_leaves, &new_leaves);
    if !fields.is_empty() {
        out.push(SectionChange { section: key.to_string(), fields, entries: Vec::new(), reordered: false });
    }
    for list in lists {
        let old = old.and_then(|v| v.get(&list)).filter(|v| is_list(Some(v)));
        let new = new.and_then(|v| v.get(&list)).filter(|v| is_list(Some(v)));
        section(&format!("{key}.{list}"), old, new, out);
    }
}

/// The key an entry is matched by: its `id`, else its `name` (numbered when it repeats).
fn keys_of(list: Option<&Value>) -> Vec<(String, &Map<String, Value>)> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let items = list.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_object().map(|m| (i, m)))
        .map(|(i, m)| {
            let base = ["id", "name"]
                .iter()
                .find_map(|f| m.get(*f).and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| format!("#{}", i + 1));
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let key = if *n == 1 { base } else { format!("{base} ({n})") };
            (key, m)
        })
        .collect()
}

fn leaves_of(m: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut leaves = BTreeMap::new();
    for (k, v) in m {
        flatten(k, v, &mut leaves);
    }
    leaves
}

fn entries(old: Option<&Value>, new: Option<&Value>) -> (Vec<EntryChange>, bool) {
    let (old, new) = (keys_of(old), keys_of(new));
    let find = |list: &[(String, &Map<String, Value>)], key: &str| list.iter().position(|(k, _)| k == key);
    let entry = |kind, key: &str, m: &Map<String, Value>, fields| EntryChange {
        kind,
        key: key.to_string(),
        name: m.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
        names: m
            .get("names")
            .and_then(Value::as_object)
            .map(|n| n.iter().filter_map(|(l, v)| Some((l.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default(),
        fields,
    };
    let mut out = Vec::new();
    for (key, m) in &new {
        match find(&old, key) {
            None => out.push(entry(EntryChangeKind::Added, key, m, compare(&BTreeMap::new(), &leaves_of(m)))),
            Some(i) if old[i].1 != *m => {
                out.push(entry(EntryChangeKind::Changed, key, m, compare(&leaves_of(old[i].1), &leaves_of(m))));
            }
            Some(_) => {}
        }
    }
    for (key, m) in &old {
        if find(&new, key).is_none() {
            out.push(entry(EntryChangeKind::Removed, key, m, compare(&leaves_of(m), &BTreeMap::new())));
        }
    }
    let common = |a: &[(String, &Map<String, Value>)], b: &[(String, &Map<String, Value>)]| -> Vec<String> {
        a.iter().filter(|(k, _)| find(b, k).is_some()).map(|(k, _)| k.clone()).collect()
    };
    let reordered = common(&old, &new) != common(&new, &old);
    (out, reordered)
}

/// The fields whose text differs, by path.
fn compare(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| old.get(*p) != new.get(*p))
        .map(|p| FieldChange { path: p.clone(), before: old.get(p).cloned(), after: new.get(p).cloned() })
        .collect()
}

/// Flattens a value into `path → text` leaves: objects by their fields (`when.skus`), lists
/// of plain values as one text (`a, b`); nulls, empty lists and `false`… are kept as they
/// read, except null, which is "not set".
fn flatten(path: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match v {
        Value::Null => {}
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&join(k), x, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            if !a.is_empty() {
                out.insert(path.to_string(), a.iter().map(text).collect::<Vec<_>>().join(", "));
            }
        }
        other => {
            out.insert(path.to_string(), text(other));
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Program;
    use enishi_core::BusinessClock;
    use serde_json::json;

    fn doc(v: Value) -> Document {
        Program::parse(&v.to_string(), &BusinessClock::default()).unwrap().doc
    }

    fn base() -> Value {
        json!({
            "name": "Corner Coffee",
            "earning": {"points_per_unit": "1", "minimum_order": "10", "exclude_skus": ["GIFT"]},
            "rules": [{"name": "Beans x2", "when": {"categories": ["coffee"]}, "multiplier": "2"},
                      {"name": "Mugs", "when": {"skus": ["MUG"]}, "points_per_item": 5}],
            "promotions": [{"id": "bf", "name": "Black Friday", "starts": "2026-11-27 18:00",
                            "ends": "2026-11-29 18:00", "multiplier": "2"}],
            "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                      "levels": [{"id": "member", "name": "Member", "threshold": "0"},
                                 {"id": "gold", "name": "Gold", "threshold": "1000", "multiplier": "1.5"}]},
            "rewards": [{"id": "coffee", "name": "A free coffee", "cost": 150, "kind": "free_item", "sku": "COFFEE"}]
        })
    }

    fn field(path: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange { path: path.into(), before: before.map(Into::into), after: after.map(Into::into) }
    }

    #[test]
    fn the_same_document_has_no_changes() {
        assert_eq!(diff(Some(&doc(base())), &doc(base())), vec![]);
    }

    #[test]
    fn changed_fields_of_a_section_show_before_and_after() {
        let mut after = base();
        after["earning"]["points_per_unit"] = json!("2");
        after["earning"]["minimum_order"] = Value::Null;
        after["earning"]["exclude_skus"] = json!(["GIFT", "SHIPPING"]);
        after["pending_days"] = json!(14);
        let d = diff(Some(&doc(base())), &doc(after));
        let sections: Vec<&str> = d.iter().map(|s| s.section.as_str()).collect();
        assert_eq!(sections, ["earning", "pending_days"]);
        assert_eq!(
            d[0].fields,
            vec![
                field("exclude_skus", Some("GIFT"), Some("GIFT, SHIPPING")),
                field("minimum_order", Some("10.00"), None),
                field("points_per_unit", Some("1"), Some("2")),
            ]
        );
        assert_eq!(d[1].fields, vec![field("", Some("0"), Some("14"))]);
    }

    #[test]
    fn entries_are_matched_by_id_or_name_and_added_removed_or_changed() {
        let mut after = base();
        after["promotions"][0]["repeat"] = json!({"weekdays": ["tue", "wed"], "from": "14:00", "until": "17:00"});
        after["promotions"][0]["names"] = json!({"ja": "ブラックフライデー"});
        after["promotions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "quiet", "name": "Quiet afternoons", "repeat": {"weekdays": ["mon"], "from": "14:00", "until": "17:00"}, "bonus": 5}));
        after["rules"].as_array_mut().unwrap().remove(1);
        after["rewards"][0]["cost"] = json!(120);
        let d = diff(Some(&doc(base())), &doc(after));
        let by = |s: &str| d.iter().find(|x| x.section == s).unwrap_or_else(|| panic!("{s}: {d:#?}"));
        let promotions = &by("promotions").entries;
        assert_eq!(promotions.len(), 2);
        assert_eq!((promotions[0].kind, promotions[0].key.as_str()), (EntryChangeKind::Changed, "bf"));
        assert_eq!(promotions[0].name_in("ja"), "ブラックフライデー");
        assert_eq!(promotions[0].name_in("en"), "Black Friday");
        assert_eq!(
            promotions[0].fields,
            vec![
                field("names.ja", None, Some("ブラックフライデー")),
                field("repeat.from", None, Some("14:00")),
                field("repeat.until", None, Some("17:00")),
                field("repeat.weekdays", None, Some("tue, wed")),
            ]
        );
        assert_eq!((promotions[1].kind, promotions[1].name.as_str()), (EntryChangeKind::Added, "Quiet afternoons"));
        assert!(promotions[1].fields.contains(&field("bonus", None, Some("5"))));
        let rules = &by("rules").entries;
        assert_eq!(rules.len(), 1);
        assert_eq!((rules[0].kind, rules[0].key.as_str()), (EntryChangeKind::Removed, "Mugs"));
        assert!(rules[0].fields.contains(&field("points_per_item", Some("5"), None)));
        assert_eq!(by("rewards").entries[0].fields, vec![field("cost", Some("150"), Some("120"))]);
        assert!(!by("rules").reordered);
    }

    #[test]
    fn tier_settings_and_levels_are_sections_of_their_own() {
        let mut after = base();
        after["tiers"]["window"] = json!("calendar_year");
        after["tiers"]["levels"][1]["threshold"] = json!("800");
        after["tiers"]["levels"].as_array_mut().unwrap().push(json!({"id": "vip", "name": "VIP", "threshold": "5000"}));
        let d = diff(Some(&doc(base())), &doc(after));
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[0].section, "tiers");
        assert_eq!(
            d[0].fields,
            vec![field("window", None, Some("calendar_year")), field("window.rolling_days", Some("365"), None)]
        );
        assert_eq!(d[1].section, "tiers.levels");
        let kinds: Vec<(EntryChangeKind, &str)> = d[1].entries.iter().map(|e| (e.kind, e.key.as_str())).collect();
        assert_eq!(kinds, [(EntryChangeKind::Changed, "gold"), (EntryChangeKind::Added, "vip")]);
        assert_eq!(d[1].entries[0].fields, vec![field("threshold", Some("1000.00"), Some("800.00"))]);
    }

    #[test]
    fn reordered_rules_and_a_first_programme_are_told() {
        let mut after = base();
        after["rules"].as_array_mut().unwrap().reverse();
        let d = diff(Some(&doc(base())), &doc(after));
        assert_eq!(d.len(), 1);
        assert!(d[0].reordered && d[0].entries.is_empty(), "{d:#?}");
        let first = diff(None, &doc(base()));
        let sections: Vec<&str> = first.iter().map(|s| s.section.as_str()).collect();
        assert_eq!(
            sections,
            ["name", "earning", "pending_days", "expiry", "rules", "promotions", "tiers", "tiers.levels", "rewards"]
        );
        assert!(first.iter().flat_map(|s| &s.entries).all(|e| e.kind == EntryChangeKind::Added));
        let tiers = first.iter().find(|s| s.section == "tiers").unwrap();
        assert!(tiers.fields.iter().all(|f| f.before.is_none()), "{tiers:#?}");
    }

    #[test]
    fn duplicate_rule_names_are_told_apart() {
        let mut after = base();
        after["rules"][1]["name"] = json!("Beans x2");
        after["rules"][1]["bonus"] = json!(3);
        let mut before = base();
        before["rules"][1]["name"] = json!("Beans x2");
        let d = diff(Some(&doc(before)), &doc(after));
        assert_eq!(d[0].entries.len(), 1, "{d:#?}");
        assert_eq!(d[0].entries[0].key, "Beans x2 (2)");
        assert_eq!(d[0].entries[0].fields, vec![field("bonus", None, Some("3"))]);
    }
}
