-- Attachments (issue 18): upload, then attach, as Zendesk does.
--
-- * public.ticket_attachments: one row per stored file. The service writes the bytes
--   first (to the object store, at the key derived from the row's id), then inserts
--   the row: a file without a row is an orphan the sweeper deletes, a row always has
--   its bytes. The key is `attachments/<id>`, never a client's file name, and derived
--   here (a generated column), so no caller, not even one reaching the table through
--   PostgREST, can point a row at another file.
-- * An upload is unattached (no message) until a message of its owner names its
--   token; it expires (expires_at, at most a day ahead) and is then deleted.
-- * Who may read a message may read its attachments, and nobody else: the select
--   policy asks the messages policy (internal notes' attachments follow the note, a
--   removed CC loses them with the messages). The owner also reads their own
--   unattached uploads.
-- * The checked type is one of an allow-list (the service decides it from the bytes).
--
-- The timeline page gains an `attachments` column: each message's attachments as
-- JSON, under the same policies.

create table if not exists public.ticket_attachments (
    id           uuid primary key,
    upload_token text not null unique,
    owner_id     uuid not null references public.profiles (id) on delete cascade,
    ticket_id    uuid references public.tickets (id) on delete cascade,
    message_id   uuid references public.ticket_messages (id) on delete cascade,
    file_name    text not null,
    content_type text not null,
    size         bigint not null,
    sha256       text not null,
    storage_key  text generated always as ('attachments/' || id::text) stored,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    constraint ticket_attachments_upload_token_check check (char_length(upload_token) between 32 and 64),
    constraint ticket_attachments_file_name_check check (char_length(file_name) between 1 and 255),
    constraint ticket_attachments_content_type_check check (content_type in (
        'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf',
        'application/zip', 'application/gzip', 'text/plain')),
    constraint ticket_attachments_size_check check (size >= 0),
    constraint ticket_attachments_sha256_check check (sha256 ~ '^[0-9a-f]{64}$'),
    constraint ticket_attachments_attached_check check (
        (message_id is null) = (ticket_id is null)
        and (message_id is null) = (expires_at is not null))
);
create index if not exists ticket_attachments_message_idx
    on public.ticket_attachments (message_id, created_at, id) where message_id is not null;
create index if not exists ticket_attachments_expiry_idx
    on public.ticket_attachments (expires_at) where message_id is null;

alter table public.ticket_attachments enable row level security;
alter table public.ticket_attachments force row level security;
revoke all on public.ticket_attachments from public, anon, authenticated;
grant select on public.ticket_attachments to authenticated;
grant insert (id, upload_token, owner_id, file_name, content_type, size, sha256, expires_at)
    on public.ticket_attachments to authenticated;
grant update (ticket_id, message_id, expires_at) on public.ticket_attachments to authenticated;

drop policy if exists ticket_attachments_select on public.ticket_attachments;
create policy ticket_attachments_select on public.ticket_attachments
    for select to authenticated
    using (
        (message_id is null and owner_id = (select auth.uid()))
        or exists (select 1 from public.ticket_messages m where m.id = ticket_attachments.message_id)
    );
drop policy if exists ticket_attachments_insert_own on public.ticket_attachments;
create policy ticket_attachments_insert_own on public.ticket_attachments
    for insert to authenticated
    with check (owner_id = (select auth.uid()) and message_id is null and ticket_id is null);
drop policy if exists ticket_attachments_attach_own on public.ticket_attachments;
create policy ticket_attachments_attach_own on public.ticket_attachments
    for update to authenticated
    using (owner_id = (select auth.uid()) and message_id is null)
    with check (owner_id = (select auth.uid()));

-- An upload's expiry lies at most a day ahead; attaching names a message of the
-- upload's owner on that message's ticket, before the upload expired, once.
create or replace function public.ticket_attachments_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    v_ticket uuid;
    v_author uuid;
begin
    if tg_op = 'INSERT' then
        new.created_at := now();
        new.expires_at := least(coalesce(new.expires_at, now() + interval '1 hour'),
                                now() + interval '1 day');
        return new;
    end if;
    if new.id is distinct from old.id or new.owner_id is distinct from old.owner_id
       or new.upload_token is distinct from old.upload_token or new.size is distinct from old.size
       or new.sha256 is distinct from old.sha256 or new.content_type is distinct from old.content_type
       or new.file_name is distinct from old.file_name then
        raise exception using errcode = 'P0403', message = 'an upload does not change';
    end if;
    if old.message_id is not null then
        raise exception using errcode = 'P0403', message = 'an attachment stays on its message';
    end if;
    if old.expires_at <= now() then
        raise exception using
            errcode = '23514', constraint = 'ticket_attachments_uploads_check',
            message = 'the upload expired';
    end if;
    select m.ticket_id, m.author_id into v_ticket, v_author
    from public.ticket_messages m where m.id = new.message_id;
    if v_author is distinct from old.owner_id or v_ticket is distinct from new.ticket_id then
        raise exception using
            errcode = '23514', constraint = 'ticket_attachments_uploads_check',
            message = 'an upload is attached to a message of its owner, on its ticket';
    end if;
    new.expires_at := null;
    return new;
end
$$;
revoke all on function public.ticket_attachments_before_write() from public, anon, authenticated, authenticator;
drop trigger if exists ticket_attachments_before_write on public.ticket_attachments;
create trigger ticket_attachments_before_write
    before insert or update on public.ticket_attachments
    for each row execute function public.ticket_attachments_before_write();

-- The sweeper's side (the service's login role, no claims): expired uploads' rows are
-- deleted and their keys returned, for the bytes to be deleted after; which of a list
-- of ids still have a row (for the orphan scan).
create or replace function public.hc_expire_uploads(p_limit integer)
returns table (id uuid, storage_key text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
    return query
    delete from public.ticket_attachments a
    where a.id in (
        select x.id from public.ticket_attachments x
        where x.message_id is null and x.expires_at < now()
        order by x.expires_at
        limit p_limit
        for update skip locked
    )
    returning a.id, a.storage_key;
end
$$;
revoke all on function public.hc_expire_uploads(integer) from public, anon, authenticated;
grant execute on function public.hc_expire_uploads(integer) to authenticator;

create or replace function public.hc_attachments_known(p_ids uuid[])
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select a.id from public.ticket_attachments a where a.id = any (p_ids)
$$;
revoke all on function public.hc_attachments_known(uuid[]) from public, anon, authenticated;
grant execute on function public.hc_attachments_known(uuid[]) to authenticator;

-- The timeline with each message's attachments (0018's, plus one column). The return
-- type changes, so both functions are replaced.
drop function if exists public.hc_ticket_timeline_page(text, uuid, timestamptz, text, integer);
drop function if exists public.ticket_timeline_page(uuid, timestamptz, text, integer, boolean);

create function public.ticket_timeline_page(
    p_ticket    uuid,
    p_after_at  timestamptz,
    p_after_key text,
    p_limit     integer,
    p_staff     boolean
)
returns table (
    kind text, sort_key text, id text, author_id uuid, author_name text, body text,
    internal boolean, from_status text, to_status text, created_at timestamptz,
    attachments jsonb
)
language plpgsql
stable
as $$
#variable_conflict use_column
declare
    v_after_at  timestamptz := coalesce(p_after_at, '-infinity');
    v_after_key text := coalesce(p_after_key, '');
begin
    return query
    select e.kind, e.sort_key, e.id, e.author_id, n.display_name, e.body, e.internal,
           e.from_status, e.to_status, e.created_at,
           case when e.kind = 'message' then (
               select coalesce(jsonb_agg(jsonb_build_object(
                          'id', a.id, 'file_name', a.file_name, 'size', a.size,
                          'content_type', a.content_type) order by a.created_at, a.id), '[]'::jsonb)
               from public.ticket_attachments a where a.message_id = e.id::uuid)
           end
    from (select t.id, t.via_followup_source_id, t.created_at
          from public.tickets t where t.id = p_ticket) t
    left join lateral (
        select u.* from (
            select 'message'::text as kind, '0' || m.id::text as sort_key, m.id::text as id,
                   m.author_id, m.body, m.internal, null::text as from_status,
                   null::text as to_status, m.created_at
            from public.ticket_messages m
            where m.ticket_id = t.id and (not m.internal or p_staff)
            union all
            select 'status_change', '1' || lpad(s.id::text, 20, '0'), s.id::text, s.changed_by,
                   null, null, s.from_status, s.to_status, s.created_at
            from public.ticket_status_changes s
            where s.ticket_id = t.id
            union all
            select 'followup', '2' || f.id::text, f.id::text, null,
                   f.subject, null, 'follow_up', f.status, f.created_at
            from public.tickets f
            where f.via_followup_source_id = t.id
            union all
            select 'followup', '2' || src.id::text, src.id::text, null,
                   src.subject, null, 'source', src.status, t.created_at
            from public.tickets src
            where src.id = t.via_followup_source_id
        ) u
        where (u.created_at, u.sort_key) > (v_after_at, v_after_key)
        order by u.created_at, u.sort_key
        limit p_limit
    ) e on true
    left join public.ticket_participant_names(p_ticket) n on n.id = e.author_id
    order by e.created_at, e.sort_key;
end
$$;

create function public.hc_ticket_timeline_page(
    p_claims    text,
    p_ticket    uuid,
    p_after_at  timestamptz,
    p_after_key text,
    p_limit     integer
)
returns table (
    kind text, sort_key text, id text, author_id uuid, author_name text, body text,
    internal boolean, from_status text, to_status text, created_at timestamptz,
    attachments jsonb
)
language plpgsql
volatile
set search_path = ''
as $$
#variable_conflict use_column
declare
    v_staff boolean;
begin
    v_staff := public.hc_enter(p_claims) in ('agent', 'admin');
    return query
    select * from public.ticket_timeline_page(p_ticket, p_after_at, p_after_key, p_limit, v_staff);
end
$$;

revoke all on function
    public.ticket_timeline_page(uuid, timestamptz, text, integer, boolean),
    public.hc_ticket_timeline_page(text, uuid, timestamptz, text, integer)
from public, anon, authenticated, authenticator;
grant execute on function public.ticket_timeline_page(uuid, timestamptz, text, integer, boolean)
    to authenticated;
grant execute on function public.hc_ticket_timeline_page(text, uuid, timestamptz, text, integer)
    to authenticator;

-- Aborts the caller's transaction with an error the service maps to an answer (a
-- write that finds its input wrong after it began: nothing of it stays).
create or replace function public.hc_refuse(p_code text, p_constraint text, p_message text)
returns void
language plpgsql
set search_path = ''
as $$
begin
    raise exception using errcode = p_code, constraint = p_constraint, message = p_message;
end
$$;
revoke all on function public.hc_refuse(text, text, text) from public, anon;
grant execute on function public.hc_refuse(text, text, text) to authenticated;
