//! The in-memory record store: ordered collections of JSON records keyed by their ids.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Bound;
use std::sync::OnceLock;

use serde_json::Value;

/// A record id as the store orders it: canonical decimal ids sort numerically and before any
/// other id, which sorts as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A canonical decimal id (`"5"`, no leading zeros).
    Num(u64),
    /// Any other id.
    Str(String),
}

impl Key {
    /// Reads an id as it appears on the wire.
    pub fn parse(id: &str) -> Self {
        let canonical = !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'));
        match id.parse::<u64>() {
            Ok(n) if canonical => Key::Num(n),
            _ => Key::Str(id.to_string()),
        }
    }

    /// Reads an id from a JSON value (string or number).
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Key::parse(s)),
            Value::Number(n) => n.as_u64().map(Key::Num),
            _ => None,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Num(n) => write!(f, "{n}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

/// The stateful resources of the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Tickets (`Ticket` records).
    Tickets,
    /// Contacts (`Contact` records plus `registration_email`).
    Contacts,
    /// Companies (`Company` records).
    Companies,
    /// Agents (`Agent` records).
    Agents,
    /// Departments (`Department` records, id in `department_id`).
    Departments,
    /// Tags (`Tag` records).
    Tags,
    /// Calls (`Call` records plus `status`, `date_created`, `date_answered`, `date_finished`,
    /// `agent_id`, `channels`, `messages`).
    Calls,
    /// Stored ticket message groups (`MessageGroup` records plus `ticket_id`): those of tickets
    /// created through the API. Each seeded ticket's own group is derived from the ticket when
    /// read (group and message id = ticket id) and is not listed here.
    MessageGroups,
    /// Ticket history entries (`TicketHistory` records).
    TicketHistory,
}

impl Resource {
    /// Every resource.
    pub const ALL: [Resource; 9] = [
        Resource::Tickets,
        Resource::Contacts,
        Resource::Companies,
        Resource::Agents,
        Resource::Departments,
        Resource::Tags,
        Resource::Calls,
        Resource::MessageGroups,
        Resource::TicketHistory,
    ];

    /// The name used in seed files (`"tickets"`, `"contacts"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Resource::Tickets => "tickets",
            Resource::Contacts => "contacts",
            Resource::Companies => "companies",
            Resource::Agents => "agents",
            Resource::Departments => "departments",
            Resource::Tags => "tags",
            Resource::Calls => "calls",
            Resource::MessageGroups => "message_groups",
            Resource::TicketHistory => "ticket_history",
        }
    }

    /// The resource with this seed-file name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The field holding a record's id.
    pub fn id_field(self) -> &'static str {
        match self {
            Resource::Departments => "department_id",
            _ => "id",
        }
    }
}

/// An ordered collection of records.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    id_field: String,
    id_is_number: bool,
    records: BTreeMap<Key, Value>,
    next_id: u64,
    /// The ids in order, built on the first positional read after a change, so deep pages
    /// start in O(log n) instead of walking every earlier record.
    order: OnceLock<Vec<Key>>,
}

impl Collection {
    /// An empty collection whose records keep their id in `id_field` as a string.
    pub fn new(id_field: &str) -> Self {
        Self {
            id_field: id_field.to_string(),
            id_is_number: false,
            records: BTreeMap::new(),
            next_id: 1,
            order: OnceLock::new(),
        }
    }

    /// An empty collection whose records keep their id in `id_field` as a JSON number.
    pub fn with_numeric_ids(id_field: &str) -> Self {
        Self {
            id_is_number: true,
            ..Self::new(id_field)
        }
    }

    /// The field holding the id.
    pub fn id_field(&self) -> &str {
        &self.id_field
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the collection is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The next id `insert_new` would assign.
    pub fn peek_next_id(&self) -> u64 {
        self.next_id
    }

    /// Stores a record under a fresh id (written into the id field) and returns the id.
    pub fn insert_new(&mut self, record: Value) -> Key {
        self.insert_new_entry(record).0
    }

    /// Stores a record under a fresh id (written into the id field); returns the id and the
    /// stored record.
    pub fn insert_new_entry(&mut self, mut record: Value) -> (Key, &Value) {
        let key = Key::Num(self.next_id);
        self.next_id += 1;
        self.write_id(&mut record, &key);
        let stored = self.put(key.clone(), record);
        (key, stored)
    }

    /// Stores a record under a given id, replacing any record with that id.
    pub fn insert_with_key(&mut self, key: Key, record: Value) {
        self.insert_entry(key, record);
    }

    /// Stores a record under a given id, replacing any record with that id; returns the stored
    /// record.
    pub fn insert_entry(&mut self, key: Key, mut record: Value) -> &Value {
        if let Key::Num(n) = key {
            self.next_id = self.next_id.max(n.saturating_add(1));
        }
        self.write_id(&mut record, &key);
        self.put(key, record)
    }

    /// Stores a record under the id in its id field, or under a fresh id when it has none;
    /// returns the id.
    pub fn insert_record(&mut self, record: Value) -> Key {
        match record.get(&self.id_field).and_then(Key::from_value) {
            Some(key) => {
                self.insert_with_key(key.clone(), record);
                key
            }
            None => self.insert_new(record),
        }
    }

    /// Puts a record (with its id written) into the map, replacing any record with that id.
    fn put(&mut self, key: Key, record: Value) -> &Value {
        self.order = OnceLock::new();
        match self.records.entry(key) {
            Entry::Occupied(mut e) => {
                e.insert(record);
                e.into_mut()
            }
            Entry::Vacant(e) => e.insert(record),
        }
    }

    fn write_id(&self, record: &mut Value, key: &Key) {
        if self.id_field.is_empty() {
            return;
        }
        if let Value::Object(map) = record {
            let value = match (key, self.id_is_number) {
                (Key::Num(n), true) => Value::from(*n),
                _ => Value::String(key.to_string()),
            };
            map.insert(self.id_field.clone(), value);
        }
    }

    /// The record with this id.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.records.get(key)
    }

    /// Makes fresh ids start above `n`.
    pub fn reserve_ids_up_to(&mut self, n: u64) {
        self.next_id = self.next_id.max(n.saturating_add(1));
    }

    /// The stored id and record for this id.
    pub fn entry(&self, key: &Key) -> Option<(&Key, &Value)> {
        self.records.get_key_value(key)
    }

    /// The record with this id, for changing it.
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Value> {
        self.records.get_mut(key)
    }

    /// Removes and returns the record with this id.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let removed = self.records.remove(key);
        if removed.is_some() {
            self.order = OnceLock::new();
        }
        removed
    }

    /// Records from position `skip` on (0-based, in ascending or descending id order).
    pub fn iter_at(
        &self,
        skip: usize,
        descending: bool,
    ) -> Box<dyn Iterator<Item = (&Key, &Value)> + '_> {
        let order = self
            .order
            .get_or_init(|| self.records.keys().cloned().collect());
        let position = if descending {
            order.len().checked_sub(skip + 1)
        } else {
            (skip < order.len()).then_some(skip)
        };
        match position.and_then(|p| order.get(p)) {
            None => Box::new(std::iter::empty()),
            Some(start) if descending => Box::new(
                self.records
                    .range((Bound::Unbounded, Bound::Included(start.clone())))
                    .rev(),
            ),
            Some(start) => Box::new(
                self.records
                    .range((Bound::Included(start.clone()), Bound::Unbounded)),
            ),
        }
    }

    /// Whether a record with this id exists.
    pub fn contains(&self, key: &Key) -> bool {
        self.records.contains_key(key)
    }

    /// All records in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Key, &Value)> {
        self.records.iter()
    }

    /// Records strictly after (`descending == false`) or strictly before (`descending == true`)
    /// the given id, in that direction; from the start when `after` is `None`.
    pub fn iter_from<'a>(
        &'a self,
        after: Option<&Key>,
        descending: bool,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Value)> + 'a> {
        match (after, descending) {
            (None, false) => Box::new(self.records.iter()),
            (None, true) => Box::new(self.records.iter().rev()),
            (Some(k), false) => Box::new(
                self.records
                    .range((Bound::Excluded(k.clone()), Bound::Unbounded)),
            ),
            (Some(k), true) => Box::new(
                self.records
                    .range((Bound::Unbounded, Bound::Excluded(k.clone())))
                    .rev(),
            ),
        }
    }
}

/// All state of a simulator.
#[derive(Clone, Debug)]
pub struct Store {
    collections: HashMap<Resource, Collection>,
    /// Message id → message group id.
    pub message_index: BTreeMap<u64, Key>,
    /// The next message id.
    pub next_message_id: u64,
    /// (ticket id, message group id) pairs.
    pub ticket_groups: BTreeSet<(Key, Key)>,
    /// (ticket id, history id) pairs.
    pub ticket_history: BTreeSet<(Key, Key)>,
    /// Ticket attributes: (ticket id, attribute name) → value.
    pub ticket_attributes: BTreeMap<(Key, String), String>,
    /// Generated collections backing the lists of the other operations, by list path.
    pub generated: HashMap<String, Collection>,
    /// Seeded tickets `1..=count` have a derived message group (see [`Store::groups_of`]).
    implicit_groups: Option<(u64, u64)>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        let collections = Resource::ALL
            .into_iter()
            .map(|r| (r, Collection::new(r.id_field())))
            .collect();
        Self {
            collections,
            message_index: BTreeMap::new(),
            next_message_id: 1,
            ticket_groups: BTreeSet::new(),
            ticket_history: BTreeSet::new(),
            ticket_attributes: BTreeMap::new(),
            generated: HashMap::new(),
            implicit_groups: None,
        }
    }

    /// The collection of a resource.
    pub fn get(&self, resource: Resource) -> &Collection {
        // Every resource is inserted by `new`; an empty fallback keeps this total.
        static EMPTY: std::sync::OnceLock<Collection> = std::sync::OnceLock::new();
        self.collections
            .get(&resource)
            .unwrap_or_else(|| EMPTY.get_or_init(|| Collection::new("id")))
    }

    /// The collection of a resource, for changing it.
    pub fn get_mut(&mut self, resource: Resource) -> &mut Collection {
        self.collections
            .entry(resource)
            .or_insert_with(|| Collection::new(resource.id_field()))
    }

    /// Indexes a message group under its ticket and its messages by id.
    fn index_group(&mut self, ticket: &Key, group: &Key) {
        self.ticket_groups.insert((ticket.clone(), group.clone()));
        let ids: Vec<u64> = self
            .get(Resource::MessageGroups)
            .get(group)
            .and_then(|g| g.get("messages"))
            .and_then(Value::as_array)
            .map(|msgs| {
                msgs.iter()
                    .filter_map(|m| m.get("id").and_then(Key::from_value))
                    .filter_map(|k| match k {
                        Key::Num(n) => Some(n),
                        Key::Str(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for id in ids {
            self.message_index.insert(id, group.clone());
            self.next_message_id = self.next_message_id.max(id + 1);
        }
    }

    /// Stores a record of `resource` under its id field (or a fresh id) and returns the id. A
    /// message group is linked to the ticket in its `ticket_id`, a history entry to the ticket
    /// in its `conversation_id`, so that the ticket's listings serve them.
    pub fn insert_linked(&mut self, resource: Resource, record: Value) -> Key {
        let ticket = match resource {
            Resource::MessageGroups => record.get("ticket_id"),
            Resource::TicketHistory => record.get("conversation_id"),
            _ => None,
        }
        .and_then(Key::from_value);
        let key = self.get_mut(resource).insert_record(record);
        match (resource, ticket) {
            (Resource::MessageGroups, Some(ticket)) => self.index_group(&ticket, &key),
            (Resource::TicketHistory, Some(ticket)) => self.index_history(ticket, key.clone()),
            _ => {}
        }
        key
    }

    /// Links a history entry to its ticket.
    fn index_history(&mut self, ticket: Key, entry: Key) {
        self.ticket_history.insert((ticket, entry));
    }

    /// Allocates a fresh message id.
    pub fn new_message_id(&mut self) -> u64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    /// Declares that seeded tickets `1..=count` each have one message group (and message) with
    /// the ticket's id, derived from the ticket and `seed` when read. Stored groups and messages
    /// get ids above `count`.
    pub fn set_implicit_groups(&mut self, count: u64, seed: u64) {
        self.implicit_groups = (count > 0).then_some((count, seed));
        self.get_mut(Resource::MessageGroups)
            .reserve_ids_up_to(count);
        self.next_message_id = self.next_message_id.max(count + 1);
    }

    fn implicit_group(&self, ticket: &Key) -> Option<(Key, Value)> {
        let (count, seed) = self.implicit_groups?;
        let Key::Num(id) = ticket else {
            return None;
        };
        if *id == 0 || *id > count {
            return None;
        }
        let record = self.get(Resource::Tickets).get(ticket)?;
        Some((ticket.clone(), crate::seed::seeded_group(seed, *id, record)))
    }

    /// The message groups of a ticket in id order (derived and stored ones).
    pub fn groups_of(&self, ticket: &Key) -> Vec<(Key, Value)> {
        let groups = self.get(Resource::MessageGroups);
        let mut out: Vec<(Key, Value)> = self.implicit_group(ticket).into_iter().collect();
        out.extend(
            linked(&self.ticket_groups, ticket)
                .filter_map(|g| groups.get(g).map(|v| (g.clone(), v.clone()))),
        );
        out
    }

    /// The message with this id.
    pub fn message(&self, id: u64) -> Option<Value> {
        let find = |group: &Value| {
            group
                .get("messages")?
                .as_array()?
                .iter()
                .find(|m| m.get("id").and_then(Key::from_value) == Some(Key::Num(id)))
                .cloned()
        };
        match self.message_index.get(&id) {
            Some(group) => find(self.get(Resource::MessageGroups).get(group)?),
            None => find(&self.implicit_group(&Key::Num(id))?.1),
        }
    }

    /// The history entries of a ticket in id order.
    pub fn history_of(&self, ticket: &Key) -> Vec<&Value> {
        let history = self.get(Resource::TicketHistory);
        linked(&self.ticket_history, ticket)
            .filter_map(|h| history.get(h))
            .collect()
    }

    /// Removes a ticket with its message groups, history and attributes.
    pub fn remove_ticket(&mut self, ticket: &Key) -> Option<Value> {
        let removed = self.get_mut(Resource::Tickets).remove(ticket)?;
        let groups: Vec<Key> = linked(&self.ticket_groups, ticket).cloned().collect();
        for g in groups {
            self.ticket_groups.remove(&(ticket.clone(), g.clone()));
            if let Some(group) = self.get_mut(Resource::MessageGroups).remove(&g) {
                for m in group
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(Key::Num(id)) = m.get("id").and_then(Key::from_value) {
                        self.message_index.remove(&id);
                    }
                }
            }
        }
        let history: Vec<Key> = linked(&self.ticket_history, ticket).cloned().collect();
        for h in history {
            self.ticket_history.remove(&(ticket.clone(), h.clone()));
            self.get_mut(Resource::TicketHistory).remove(&h);
        }
        let attrs: Vec<(Key, String)> = self
            .ticket_attributes
            .range((ticket.clone(), String::new())..)
            .take_while(|((t, _), _)| t == ticket)
            .map(|(k, _)| k.clone())
            .collect();
        for a in attrs {
            self.ticket_attributes.remove(&a);
        }
        Some(removed)
    }
}

/// The ids a (ticket id, id) index links to this ticket, in id order.
fn linked<'a>(index: &'a BTreeSet<(Key, Key)>, ticket: &'a Key) -> impl Iterator<Item = &'a Key> {
    index
        .range((ticket.clone(), Key::Num(0))..)
        .take_while(move |(t, _)| t == ticket)
        .map(|(_, id)| id)
}
