//! Shared data (with CAS), shared queues and metrics.

use std::collections::VecDeque;

use crate::memory::Guest;

use super::misc::world;
use super::{note, show};
use crate::abi::{MetricType, Status};
use crate::memory::{self, HostResult};
use crate::state::{Deferred, Metric, Queue};

const OK: HostResult = Ok(Status::Ok as i32);

pub(super) fn get_shared_data(
    c: &mut dyn Guest,
    key_ptr: u32,
    key_len: u32,
    value_ptr_ptr: u32,
    value_len_ptr: u32,
    cas_ptr: u32,
) -> HostResult {
    let key = memory::read_string(c, key_ptr, key_len)?;
    memory::check(c, cas_ptr, 4)?;
    let found = world(c).borrow().shared_data.get(&key).cloned();
    let Some((value, cas)) = found else {
        note(c, format_args!("{key:?} (absent)"));
        return Err(Status::NotFound.into());
    };
    note(c, format_args!("{key:?} -> {} cas={cas}", show(&value)));
    memory::return_bytes(c, &value, value_ptr_ptr, value_len_ptr)?;
    memory::write_u32(c, cas_ptr, cas)?;
    OK
}

pub(super) fn set_shared_data(
    c: &mut dyn Guest,
    key_ptr: u32,
    key_len: u32,
    value_ptr: u32,
    value_len: u32,
    cas: u32,
) -> HostResult {
    let key = memory::read_string(c, key_ptr, key_len)?;
    let value = memory::read(c, value_ptr, value_len)?;
    note(c, format_args!("{key:?} = {} cas={cas}", show(&value)));
    let w = world(c);
    let mut w = w.borrow_mut();
    w.retain((key.len() + value.len()) as u64)
        .map_err(wasmi::Error::host)?;
    if let Some((_, current)) = w.shared_data.get(&key)
        && cas != 0
        && cas != *current
    {
        return Err(Status::CasMismatch.into());
    }
    w.cas_counter += 1;
    let next = w.cas_counter;
    w.shared_data.insert(key, (value, next));
    OK
}

pub(super) fn register_queue(
    c: &mut dyn Guest,
    name_ptr: u32,
    name_len: u32,
    token_ptr: u32,
) -> HostResult {
    let name = memory::read_string(c, name_ptr, name_len)?;
    memory::check(c, token_ptr, 4)?;
    let token = {
        let w = world(c);
        let mut w = w.borrow_mut();
        let root = w.root_of(w.target_context());
        let vm_id = w.cfg().vm_id.clone();
        let existing = w
            .queues
            .iter()
            .find(|(_, q)| q.name == name && q.vm_id == vm_id);
        match existing.map(|(t, _)| *t) {
            Some(t) => {
                let filter = w.filter();
                if let Some(q) = w.queues.get_mut(&t) {
                    q.root = root;
                    q.filter = filter;
                }
                t
            }
            None => {
                let t = w.queues.len() as u32 + 1;
                let filter = w.filter();
                w.queues.insert(
                    t,
                    Queue {
                        filter,
                        vm_id,
                        name: name.clone(),
                        root,
                        items: VecDeque::new(),
                    },
                );
                t
            }
        }
    };
    memory::write_u32(c, token_ptr, token)?;
    note(c, format_args!("{name:?} -> token {token}"));
    OK
}

pub(super) fn resolve_queue(
    c: &mut dyn Guest,
    vm_id_ptr: u32,
    vm_id_len: u32,
    name_ptr: u32,
    name_len: u32,
    token_ptr: u32,
) -> HostResult {
    let vm_id = memory::read_string(c, vm_id_ptr, vm_id_len)?;
    let name = memory::read_string(c, name_ptr, name_len)?;
    let found = {
        let w = world(c);
        let w = w.borrow();
        let vm_id = if vm_id.is_empty() {
            w.cfg().vm_id.clone()
        } else {
            vm_id.clone()
        };
        w.queues
            .iter()
            .find(|(_, q)| q.name == name && q.vm_id == vm_id)
            .map(|(t, _)| *t)
    };
    note(c, format_args!("{vm_id:?} {name:?} -> {found:?}"));
    let Some(token) = found else {
        return Err(Status::NotFound.into());
    };
    memory::write_u32(c, token_ptr, token)?;
    OK
}

pub(super) fn enqueue(c: &mut dyn Guest, token: u32, data_ptr: u32, data_len: u32) -> HostResult {
    let data = memory::read(c, data_ptr, data_len)?;
    note(c, format_args!("token {token} <- {}", show(&data)));
    let w = world(c);
    let mut w = w.borrow_mut();
    w.retain(data.len() as u64).map_err(wasmi::Error::host)?;
    let Some(q) = w.queues.get_mut(&token) else {
        return Err(Status::NotFound.into());
    };
    q.items.push_back(data);
    let (root, filter) = (q.root, q.filter);
    w.deferred.push(Deferred::QueueReady {
        filter,
        root,
        token,
    });
    OK
}

pub(super) fn dequeue(
    c: &mut dyn Guest,
    token: u32,
    data_ptr_ptr: u32,
    data_len_ptr: u32,
) -> HostResult {
    memory::check(c, data_ptr_ptr, 4)?;
    memory::check(c, data_len_ptr, 4)?;
    let item = {
        let w = world(c);
        let mut w = w.borrow_mut();
        match w.queues.get_mut(&token) {
            None => None,
            Some(q) => Some(q.items.pop_front()),
        }
    };
    match item {
        None => Err(Status::NotFound.into()),
        Some(None) => {
            note(c, format_args!("token {token} (empty)"));
            Err(Status::Empty.into())
        }
        Some(Some(data)) => {
            note(c, format_args!("token {token} -> {}", show(&data)));
            memory::return_bytes(c, &data, data_ptr_ptr, data_len_ptr)?;
            OK
        }
    }
}

pub(super) fn define_metric(
    c: &mut dyn Guest,
    metric_type: u32,
    name_ptr: u32,
    name_len: u32,
    id_ptr: u32,
) -> HostResult {
    let Some(kind) = MetricType::from_abi(metric_type) else {
        return Err(Status::BadArgument.into());
    };
    let name = memory::read_string(c, name_ptr, name_len)?;
    memory::check(c, id_ptr, 4)?;
    let id = {
        let w = world(c);
        let mut w = w.borrow_mut();
        // Envoy numbers counters 4, 8, ...; gauges 5, 9, ...; histograms 6, 10, ...: one
        // sequence per kind (MetricStore's next_counter/gauge/histogram_metric_id_).
        let same_kind = w.metrics.iter().filter(|m| m.kind == kind).count() as u32;
        let id = (same_kind + 1) * 4 + metric_type;
        // Another worker's VM may have defined it already: Envoy's stat is the same one.
        let (value, samples) = w.shared_metric_value(&name).unwrap_or((0, 0));
        w.metrics.push(Metric {
            id,
            kind,
            name: name.clone(),
            value,
            samples,
        });
        id
    };
    memory::write_u32(c, id_ptr, id)?;
    note(
        c,
        format_args!("{}", format!("{kind:?} {name:?} -> id {id}").to_lowercase()),
    );
    OK
}

fn with_metric(
    c: &mut dyn Guest,
    id: u32,
    f: impl FnOnce(&mut Metric) -> Result<(), Status>,
) -> HostResult {
    let w = world(c);
    let mut w = w.borrow_mut();
    let Some(m) = w.metrics.iter_mut().find(|m| m.id == id) else {
        return Err(Status::NotFound.into());
    };
    f(m)?;
    OK
}

pub(super) fn increment_metric(c: &mut dyn Guest, id: u32, delta: i64) -> HostResult {
    note(c, format_args!("id {id} += {delta}"));
    with_metric(c, id, |m| match m.kind {
        MetricType::Counter if delta > 0 => {
            m.value = m.value.saturating_add(delta);
            Ok(())
        }
        MetricType::Gauge => {
            m.value = m.value.saturating_add(delta);
            Ok(())
        }
        _ => Err(Status::BadArgument),
    })
}

pub(super) fn record_metric(c: &mut dyn Guest, id: u32, value: u64) -> HostResult {
    note(c, format_args!("id {id} record {value}"));
    // Metric values are kept signed (gauges go down): a value past i64::MAX wraps, as it
    // always has.
    let value = value as i64;
    with_metric(c, id, |m| {
        match m.kind {
            MetricType::Counter => m.value = m.value.saturating_add(value),
            MetricType::Gauge => m.value = value,
            MetricType::Histogram => {
                m.value = value;
                m.samples += 1;
            }
        }
        Ok(())
    })
}

pub(super) fn get_metric(c: &mut dyn Guest, id: u32, value_ptr: u32) -> HostResult {
    let value = {
        let w = world(c);
        let w = w.borrow();
        w.metrics
            .iter()
            .find(|m| m.id == id)
            .map(|m| (m.kind, m.value))
    };
    match value {
        None => Err(Status::NotFound.into()),
        Some((MetricType::Histogram, _)) => Err(Status::BadArgument.into()),
        Some((_, v)) => {
            memory::write_u64(c, value_ptr, v as u64)?;
            note(c, format_args!("id {id} -> {v}"));
            OK
        }
    }
}
