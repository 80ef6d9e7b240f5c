// The dashboard page: the mesh graph, rollouts as they progress, objects with status and reach,
// proxies by sync state, and NACKs with the proxy's error and the objects blamed, all from the
// live feed.
import { useEffect, useMemo, useState } from "preact/hooks";
import type {
  MetaEntry,
  NackEntry,
  ObjectEntry,
  ProxyEntry,
  ProxyGroupEntry,
  RolloutEntry,
  SyncState,
} from "../../src/admin/dashboard-view.ts";
import { followFeed, noView, type FeedStatus, type View } from "./feed.ts";
import { MeshGraph, Pager } from "./graph.tsx";

const states: readonly SyncState[] = ["NACKED", "STALE", "NOT SENT", "SYNCED"];
const tokenKey = "meshplane-dashboard-token";

/** Code-unit order: names are ASCII, and this is many times cheaper than localeCompare. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function App() {
  const [view, setView] = useState<View>(noView);
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

  // Each panel is built once per change of the entries it shows (the feed keeps unchanged kinds
  // identical), and Preact skips a panel whose element is the same object as last time.
  const meta: MetaEntry | undefined = view.meta.values().next().value;
  const graph = useMemo(() => <MeshGraph services={[...view.service.values()]} />, [view.service]);
  const rollouts = useMemo(
    () => (
      <Rollouts
        rollouts={[...view.rollout.values()].sort((a, b) => byText(a.object, b.object))}
        total={meta?.rollouts ?? 0}
        listed={meta?.rolloutsListed ?? 0}
      />
    ),
    [view.rollout, meta?.rollouts, meta?.rolloutsListed],
  );
  const nacks = useMemo(
    () => (
      <Nacks
        nacks={[...view.nack.values()]}
        total={meta?.nackedObjects ?? 0}
        listed={meta?.nackedObjectsListed ?? 0}
      />
    ),
    [view.nack, meta?.nackedObjects, meta?.nackedObjectsListed],
  );
  const proxies = useMemo(
    () => (
      <Proxies
        groups={[...view.proxyGroup.values()]}
        proxies={[...view.proxy.values()].sort(
          (a, b) => states.indexOf(a.state) - states.indexOf(b.state) || byText(a.nodeId, b.nodeId),
        )}
        total={meta?.proxies ?? 0}
        listed={meta?.proxiesListed ?? 0}
      />
    ),
    [view.proxyGroup, view.proxy, meta?.proxies, meta?.proxiesListed],
  );
  const objects = useMemo(
    () => <Objects objects={[...view.object.values()].sort((a, b) => byText(a.object, b.object))} />,
    [view.object],
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
        <Summary meta={meta} status={status} />
      </header>
      <section>
        <h2>Mesh</h2>
        {graph}
      </section>
      <section>
        <h2>Rollouts</h2>
        {rollouts}
      </section>
      <section>
        <h2>NACKs</h2>
        {nacks}
      </section>
      <section>
        <h2>Proxies</h2>
        {proxies}
      </section>
      <section>
        <h2>Objects</h2>
        {objects}
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

function Nacks(props: { nacks: readonly NackEntry[]; total: number; listed: number }) {
  if (props.nacks.length === 0) return <p class="empty">No proxy rejects anything.</p>;
  return (
    <div>
      {props.total > props.listed ? (
        <p class="note">
          The {props.listed} objects rejected by the most proxies, of {props.total}.
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

const proxiesPerPage = 50;

function Proxies(props: {
  groups: readonly ProxyGroupEntry[];
  /** The worst first. */
  proxies: readonly ProxyEntry[];
  total: number;
  listed: number;
}) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(props.proxies.length / proxiesPerPage));
  const current = Math.min(page, pages - 1);
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
      <div class="controls">
        {props.total > props.listed ? (
          <span class="note">
            The {props.listed} proxies in the worst state, of {props.total}; the rest are counted above.
          </span>
        ) : null}
        <Pager
          page={current}
          pages={pages}
          setPage={setPage}
          total={props.proxies.length}
          what="proxies"
          testid="proxy-pager"
        />
      </div>
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
          {props.proxies.slice(current * proxiesPerPage, (current + 1) * proxiesPerPage).map((p) => (
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
  const shown = useMemo(
    () =>
      props.objects.filter(
        (o) => o.object.includes(filter) && (!problemsOnly || o.issues.length > 0 || o.nackingProxies > 0),
      ),
    [props.objects, filter, problemsOnly],
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

function Rollouts(props: { rollouts: readonly RolloutEntry[]; total: number; listed: number }) {
  if (props.rollouts.length === 0) return <p class="empty">No Rollouts.</p>;
  return (
    <div>
      {props.total > props.listed ? (
        <p class="note">
          The {props.listed} rollouts that most need attention, of {props.total}.
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
