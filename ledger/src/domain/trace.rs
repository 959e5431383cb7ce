//! Trace requests (ITI 14-23, DOMAIN.md invariant 6): a request goes to another State; the
//! requested State (or one it forwarded the request to) acknowledges and answers; only an
//! open request takes an answer; the requesting State closes it.

use super::views::{TraceStatus, TraceView, View};
use super::{Context, Decided, DomainError, Views, load_trace, load_weapon, not_found, own_state};
use crate::catalogue::{DomainEvent, TraceRequested};
use crate::rejection::Rejection;
use crate::store::StoreError;
use crate::values::CountryCode;

pub(super) fn decide(event: &DomainEvent, context: &Context<'_>, views: &mut dyn Views) -> Decided {
    let stream = context.stream.as_str();
    if let DomainEvent::TraceRequested(request) = event {
        return decide_request(event, request, context, views);
    }
    let trace = load_trace(views, stream)?.ok_or_else(|| not_found(stream))?;
    match event {
        DomainEvent::TraceAcknowledged(_) => {
            answering_state(&trace, context, "requested_state")?;
            if trace.status != TraceStatus::Open {
                return Err(not_open(&trace));
            }
        }
        DomainEvent::TraceResponded(response) => {
            own_state(
                context,
                "responding_state",
                response.responding_state.as_str(),
            )?;
            answering_state(&trace, context, "responding_state")?;
            open(&trace)?;
        }
        DomainEvent::TraceForwarded(forward) => {
            answering_state(&trace, context, "requested_state")?;
            open(&trace)?;
            if forward.to_state == trace.requesting_state {
                return Err(Rejection::TraceToOwnState(forward.to_state.to_string()).into());
            }
        }
        DomainEvent::TraceInformationRequested(asked) => {
            own_state(context, "asking_state", asked.asking_state.as_str())?;
            party(&trace, context, "asking_state")?;
            open(&trace)?;
        }
        DomainEvent::TraceInformationSupplied(supplied) => {
            own_state(
                context,
                "supplying_state",
                supplied.supplying_state.as_str(),
            )?;
            party(&trace, context, "supplying_state")?;
            open(&trace)?;
        }
        DomainEvent::TraceClosed(_) => {
            own_state(context, "requesting_state", trace.requesting_state.as_str())?;
            open(&trace)?;
        }
        _ => {}
    }
    Ok(())
}

fn decide_request(
    event: &DomainEvent,
    request: &TraceRequested,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Decided {
    own_state(
        context,
        "requesting_state",
        request.requesting_state.as_str(),
    )?;
    if request.requested_state == request.requesting_state {
        return Err(Rejection::TraceToOwnState(request.requested_state.to_string()).into());
    }
    super::new_stream(event, context, views)?;
    if let Some(weapon) = &request.weapon
        && load_weapon(views, &super::weapon_stream(weapon))?.is_none()
    {
        return Err(Rejection::WeaponNotMarked(weapon.to_string()).into());
    }
    Ok(())
}

fn not_open(trace: &TraceView) -> DomainError {
    Rejection::TraceNotOpen {
        trace: trace.id.clone(),
        status: super::snake_name(trace.status),
    }
    .into()
}

/// A closed trace takes no response (invariant 6); anything short of closed is open.
fn open(trace: &TraceView) -> Decided {
    if trace.status == TraceStatus::Closed {
        Err(not_open(trace))
    } else {
        Ok(())
    }
}

/// The requested State, or one the request was forwarded to.
fn answering_state(trace: &TraceView, context: &Context<'_>, field: &'static str) -> Decided {
    let answering = trace.requested_state.as_str() == context.jurisdiction
        || trace
            .forwarded_to
            .iter()
            .any(|s| s.as_str() == context.jurisdiction);
    if answering {
        Ok(())
    } else {
        own_state(context, field, trace.requested_state.as_str())
    }
}

/// Any State the request concerns: the requesting one or an answering one.
fn party(trace: &TraceView, context: &Context<'_>, field: &'static str) -> Decided {
    if trace.requesting_state.as_str() == context.jurisdiction {
        Ok(())
    } else {
        answering_state(trace, context, field)
    }
}

pub(super) fn evolve(
    event: &DomainEvent,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    let stream = context.stream.to_string();
    let at = context.occurred_at.as_str().to_owned();
    if let DomainEvent::TraceRequested(request) = event {
        views.put(
            stream,
            View::Trace(Box::new(TraceView {
                id: context.stream.id().to_owned(),
                status: TraceStatus::Open,
                requesting_state: request.requesting_state,
                requested_state: request.requested_state,
                forwarded_to: Vec::new(),
                weapon: request.weapon,
                requested_at: at,
                acknowledged_at: None,
                responded_at: None,
                closed_at: None,
                response_deadline: request.response_deadline,
                responses: Vec::new(),
                first_index: context.index,
                last_index: context.index,
            })),
        );
        return Ok(());
    }
    let Some(mut trace) = load_trace(views, &stream)? else {
        return Ok(());
    };
    trace.last_index = context.index;
    match event {
        DomainEvent::TraceAcknowledged(_) => {
            trace.status = TraceStatus::Acknowledged;
            trace.acknowledged_at = Some(at);
        }
        DomainEvent::TraceResponded(response) => {
            trace.status = TraceStatus::Responded;
            trace.responded_at.get_or_insert(at);
            trace.responses.push(response.kind);
        }
        DomainEvent::TraceForwarded(forward) => {
            let to: CountryCode = forward.to_state;
            if !trace.forwarded_to.contains(&to) {
                trace.forwarded_to.push(to);
            }
        }
        DomainEvent::TraceClosed(_) => {
            trace.status = TraceStatus::Closed;
            trace.closed_at = Some(at);
        }
        _ => {}
    }
    views.put(stream, View::Trace(Box::new(trace)));
    Ok(())
}
