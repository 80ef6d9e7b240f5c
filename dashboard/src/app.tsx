// The dashboard page: the mesh graph, rollouts as they progress, objects with status and reach,
// proxies by sync state, and NACKs with the proxy's error and the objects blamed, all from the
// live feed.
import { useEffect, useMemo, useState } from "preact/hooks";
import type {
  DashboardEntry,
  MetaEntry,
  NackEntry,
  ObjectEntry,
  ProxyEntry,
  ProxyGroupEntry,
  RolloutEntry,
  SyncState,
} from "../../src/admin/dashboard-view.ts";
import { followFeed, type FeedStatus, type View } from "./feed.ts";
import { MeshGraph, Pager } from "./graph.tsx";

const states: readonly SyncState[] = ["NACKED", "STALE", "NOT SENT", "SYNCED"];
const tokenKey = "meshplane-dashboard-token";

function ofKind<K extends DashboardEntry["kind"]>(
  view: View,
  kind: K,
): Extract<DashboardEntry, { kind: K }>[] {
  const found: Extract<DashboardEntry, { kind: K }>[] = [];
  for (const entry of view.values())
    if (entry.kind === kind) found.push(entry as Extract<DashboardEntry, { kind: K }>);
  return found;
}

export function App() {
  const [view, setView] = useState<View>(new Map());
  const [status, setStatus] = useState<FeedStatus>({ state: "connecting" });
  // The token lives in this tab's session storage: never in the URL, gone with the tab.
  const [token, setToken] = useState<string | undefined>(sessionStorage.getItem(tokenKey) ?? undefined);
  useEffect(() => {
    const abort = new AbortController();
    let frame = 0;
    let latest: View | undefined;
    // Draw at most once per animation frame, however fast deltas arrive.
    const show = (next: View) => {
      latest = next;
      if (frame === 0)
        frame = requestAnimationFrame(() => {
          frame = 0;
          if (latest) setView(latest);
        });
    };
    void followFeed(token, { view: show, status: setStatus }, abort.signal);
    return () => {
      abort.abort();
      cancelAnimationFrame(frame);
    };
  }, [token]);

  const parts = useMemo(
    () => ({
      meta: ofKind(view, "meta")[0],
      services: ofKind(view, "service"),
      objects: ofKind(view, "object").sort((a, b) => a.object.localeCompare(b.object)),
      groups: ofKind(view, "proxyGroup"),
      proxies: ofKind(view, "proxy"),
      nacks: ofKind(view, "nack"),
      rollouts: ofKind(view, "rollout").sort((a, b) => a.object.localeCompare(b.object)),
    }),
    [view],
  );

  if (status.state === "unauthorized") {
    return (
      <TokenForm
        onToken={(value) => {
          sessionStorage.setItem(tokenKey, value);
          setToken(value);
        }}
      />
    );
  }
  return (
    <main>
      <header>
        <h1>meshplane</h1>
        <Summary meta={parts.meta} status={status} />
      </header>
      <section>
        <h2>Mesh</h2>
        <MeshGraph services={parts.services} />
      </section>
      <section>
        <h2>Rollouts</h2>
        <Rollouts rollouts={parts.rollouts} meta={parts.meta} />
      </section>
      <section>
        <h2>NACKs</h2>
        <Nacks nacks={parts.nacks} meta={parts.meta} />
      </section>
      <section>
        <h2>Proxies</h2>
        <Proxies groups={parts.groups} proxies={parts.proxies} meta={parts.meta} />
      </section>
      <section>
        <h2>Objects</h2>
        <Objects objects={parts.objects} />
      </section>
    </main>
  );
}

function TokenForm(props: { onToken: (token: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <main>
      <h1>meshplane</h1>
      <form
        class="token"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) props.onToken(value.trim());
        }}
      >
        <label>
          This dashboard needs one of the API's bearer tokens{" "}
          <input
            type="password"
            autocomplete="off"
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Open</button>
      </form>
    </main>
  );
}

function Summary(props: { meta: MetaEntry | undefined; status: FeedStatus }) {
  const { meta, status } = props;
  const text =
    status.state === "live"
      ? "live"
      : status.state === "retrying"
        ? `reconnecting: ${status.reason}`
        : "connecting";
  return (
    <p class="summary">
      <span class={`feed ${status.state}`} data-testid="feed-state">
        {text}
      </span>
      {meta ? (
        <span data-testid="totals" data-proxies={meta.proxies} data-services={meta.services}>
          {" "}
          · serving version {meta.version} · {meta.services} services · {meta.objects} objects ·{" "}
          {meta.proxies} proxies
        </span>
      ) : null}
    </p>
  );
}

function StateBadge(props: { state: SyncState }) {
  return <span class={`state ${props.state.replace(" ", "-").toLowerCase()}`}>{props.state}</span>;
}

function Nacks(props: { nacks: readonly NackEntry[]; meta: MetaEntry | undefined }) {
  if (props.nacks.length === 0) return <p class="empty">No proxy rejects anything.</p>;
  return (
    <div>
      {props.meta && props.meta.nackedObjects > props.meta.nackedObjectsListed ? (
        <p class="note">
          The {props.meta.nackedObjectsListed} objects rejected by the most proxies, of{" "}
          {props.meta.nackedObjects}.
        </p>
      ) : null}
      {props.nacks.map((nack) => (
        <div class="nack" data-testid="nack" data-object={nack.object} key={nack.object}>
          <h3>
            {nack.object} <span class="sub">rejected by {nack.proxies} proxies</span>
          </h3>
          <table>
            <thead>
              <tr>
                <th>proxy</th>
                <th>resource</th>
                <th>proxy's error</th>
                <th>since</th>
              </tr>
            </thead>
            <tbody>
              {nack.rejections.map((r) => (
                <tr key={`${r.nodeId}|${r.type}|${r.resource}`}>
                  <td>{r.nodeId}</td>
                  <td>
                    {r.type} {r.resource}
                  </td>
                  <td class="error" data-testid="nack-error">
                    {r.error}
                  </td>
                  <td>
                    {r.since} ({r.count}×)
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {nack.rejectionCount > nack.rejections.length ? (
            <p class="note">and {nack.rejectionCount - nack.rejections.length} more rejections</p>
          ) : null}
        </div>
      ))}
    </div>
  );
}

function Proxies(props: {
  groups: readonly ProxyGroupEntry[];
  proxies: readonly ProxyEntry[];
  meta: MetaEntry | undefined;
}) {
  const proxies = [...props.proxies].sort(
    (a, b) => states.indexOf(a.state) - states.indexOf(b.state) || a.nodeId.localeCompare(b.nodeId),
  );
  return (
    <div>
      <table>
        <thead>
          <tr>
            <th>namespace</th>
            <th>client</th>
            {states.map((s) => (
              <th key={s}>{s}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.groups.map((g) => (
            <tr key={`${g.namespace}/${g.client}`} data-testid="proxy-group">
              <td>{g.namespace}</td>
              <td>{g.client}</td>
              {states.map((s) => (
                <td key={s} class="count">
                  {g.counts[s]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {props.meta && props.meta.proxies > props.meta.proxiesListed ? (
        <p class="note">
          The {props.meta.proxiesListed} proxies in the worst state, of {props.meta.proxies}; the rest are
          counted above.
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>node</th>
            <th>state</th>
            <th>client</th>
            <th>types</th>
          </tr>
        </thead>
        <tbody>
          {proxies.map((p) => (
            <tr key={p.streamId} data-testid="proxy" data-node={p.nodeId} data-state={p.state}>
              <td>{p.nodeId}</td>
              <td>
                <StateBadge state={p.state} />
              </td>
              <td>
                {p.client} ({p.protocol})
              </td>
              <td>
                {p.types.map((t) => (
                  <span
                    key={t.type}
                    class="type"
                    title={`sent ${t.sentVersion ?? "nothing"}, ACKed ${t.ackedVersion ?? "nothing"}`}
                  >
                    {t.type} <StateBadge state={t.state} />{" "}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const objectsPerPage = 50;

function Objects(props: { objects: readonly ObjectEntry[] }) {
  const [filter, setFilter] = useState("");
  const [problemsOnly, setProblemsOnly] = useState(false);
  const [page, setPage] = useState(0);
  const shown = props.objects.filter(
    (o) => o.object.includes(filter) && (!problemsOnly || o.issues.length > 0 || o.nackingProxies > 0),
  );
  const pages = Math.max(1, Math.ceil(shown.length / objectsPerPage));
  const current = Math.min(page, pages - 1);
  return (
    <div>
      <div class="controls">
        <input
          placeholder="filter objects"
          data-testid="object-filter"
          value={filter}
          onInput={(e) => (setFilter((e.target as HTMLInputElement).value), setPage(0))}
        />
        <label>
          <input
            type="checkbox"
            checked={problemsOnly}
            onChange={(e) => (setProblemsOnly((e.target as HTMLInputElement).checked), setPage(0))}
          />{" "}
          only with problems
        </label>
        <Pager
          page={current}
          pages={pages}
          setPage={setPage}
          total={shown.length}
          what="objects"
          testid="object-pager"
        />
      </div>
      <table>
        <thead>
          <tr>
            <th>object</th>
            <th>gen</th>
            <th>status</th>
            <th>programmed</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(current * objectsPerPage, (current + 1) * objectsPerPage).map((o) => (
            <tr key={o.object} data-testid="object" data-object={o.object}>
              <td>{o.object}</td>
              <td>{o.generation}</td>
              <td>
                {o.issues.length === 0 ? (
                  <span class="ok">OK</span>
                ) : (
                  o.issues.map((i) => (
                    <div class="issue" key={`${i.field}|${i.reason}`}>
                      {i.reason}
                      {i.flavour ? ` (${i.flavour})` : ""}: {i.field}: {i.message}
                    </div>
                  ))
                )}
              </td>
              <td data-testid="reach">
                {o.reach ? `reached ${o.reach.reached} of ${o.reach.total}` : "—"}
                {o.nackingProxies > 0 ? (
                  <span class="state nacked"> rejected by {o.nackingProxies}</span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A phase in the sync states' colours: done, under way (or waiting), or in trouble. */
function phaseLook(phase: string | undefined): string {
  if (phase === "Succeeded") return "synced";
  return phase === "Degraded" || phase === "Aborted" ? "nacked" : "stale";
}

function Rollouts(props: { rollouts: readonly RolloutEntry[]; meta: MetaEntry | undefined }) {
  if (props.rollouts.length === 0) return <p class="empty">No Rollouts.</p>;
  return (
    <div>
      {props.meta && props.meta.rollouts > props.meta.rolloutsListed ? (
        <p class="note">
          The {props.meta.rolloutsListed} rollouts that most need attention, of {props.meta.rollouts}.
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>rollout</th>
            <th>route</th>
            <th>phase</th>
            <th>step</th>
            <th>canary</th>
            <th>last analysis</th>
            <th>conditions</th>
          </tr>
        </thead>
        <tbody>
          {props.rollouts.map((r) => {
            const s = r.status;
            const last = s?.rounds.at(-1);
            return (
              <tr key={r.object} data-testid="rollout" data-object={r.object} data-phase={s?.phase ?? ""}>
                <td>{r.object}</td>
                <td>
                  {r.route}
                  <div class="sub">
                    {r.stable} → {r.canary}
                  </div>
                </td>
                <td data-testid="rollout-phase">
                  <span class={`state ${phaseLook(s?.phase)}`}>{s?.phase ?? "no status yet"}</span>
                  {s?.pauseReason ? <div class="sub">{s.pauseReason}</div> : null}
                  {s?.message ? <div class="sub">{s.message}</div> : null}
                </td>
                <td data-testid="rollout-step">
                  {s
                    ? s.currentStep >= r.steps
                      ? `done (${r.steps} steps)`
                      : `${s.currentStep + 1} of ${r.steps}`
                    : "—"}
                </td>
                <td data-testid="rollout-weight">{s ? `${s.canaryWeight}%` : "—"}</td>
                <td data-testid="rollout-analysis">
                  {last ? (
                    <div
                      title={`${s?.roundCount ?? 0} rounds in status; the last ${s?.rounds.length ?? 0} kept here`}
                    >
                      step {last.step + 1}: {last.result} at {last.at}
                      {last.measurements.map((m) => (
                        <div class="sub" key={m.metric}>
                          {m.metric}={m.value ?? `? (${m.message ?? m.result})`} {m.result}
                        </div>
                      ))}
                    </div>
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  {(s?.conditions ?? []).map((c) => (
                    <div
                      key={c.type}
                      class={c.type === "Degraded" && c.status === "True" ? "issue" : ""}
                      data-testid="rollout-condition"
                    >
                      {c.type}={c.status}
                      {c.reason ? ` (${c.reason})` : ""}
                      {c.message ? `: ${c.message}` : ""}
                    </div>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
