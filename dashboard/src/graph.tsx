// The mesh as a graph, one Service at a time: the Service, the routes attached to it, and the
// backends each route sends to with its live weight and share. Plain SVG, laid out in three
// columns; Services page and collapse, so a thousand of them cost one page of drawing.
import { useMemo, useState } from "preact/hooks";
import type { RouteView, ServiceEntry } from "../../src/admin/dashboard-view.ts";

const rowHeight = 30;
const nodeWidth = 220;
const columns = [8, 330, 660];

interface Row {
  readonly route: RouteView;
  readonly rule: number;
  readonly backend: RouteView["rules"][number]["backends"][number];
  readonly share: number;
}

function rowsOf(service: ServiceEntry): Row[] {
  return service.routes.flatMap((route) =>
    route.rules.flatMap((rule) => {
      const total = rule.backends.reduce((sum, b) => sum + (b.invalid ? 0 : b.weight), 0);
      return rule.backends.map((backend) => ({
        route,
        rule: rule.index,
        backend,
        share: total > 0 && !backend.invalid ? backend.weight / total : 0,
      }));
    }),
  );
}

function label(text: string): string {
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}

function Node(props: { x: number; y: number; text: string; sub?: string; kind: string }) {
  return (
    <g class={`node ${props.kind}`} transform={`translate(${props.x},${props.y})`}>
      <rect width={nodeWidth} height={rowHeight - 6} rx={4} />
      <text x={8} y={16}>
        {label(props.text)}
        {props.sub ? <tspan class="sub"> {props.sub}</tspan> : null}
      </text>
    </g>
  );
}

function endpointsText(service: ServiceEntry | undefined): string {
  if (!service) return "(not found)";
  const ready = service.ports.reduce((n, p) => n + p.ready, 0);
  const all = service.ports.reduce((n, p) => n + p.endpoints, 0);
  return `${ready}/${all} ready`;
}

export function ServiceGraph(props: {
  service: ServiceEntry;
  services: ReadonlyMap<string, ServiceEntry>;
  open: boolean;
  toggle: () => void;
}) {
  const { service } = props;
  const name = `${service.namespace}/${service.name}`;
  const rows = rowsOf(service);
  const routes = [...new Set(rows.map((r) => r.route.object))];
  const height = Math.max(1, rows.length) * rowHeight + 4;
  const centre = Math.max(0, rows.length - 1) / 2;
  const middle = (i: number) => 2 + i * rowHeight + (rowHeight - 6) / 2;
  return (
    <section class="service" data-testid="service" data-service={name}>
      <button
        class="toggle"
        onClick={props.toggle}
        disabled={service.routes.length === 0}
        aria-expanded={props.open}
      >
        {service.routes.length === 0 ? "·" : props.open ? "▾" : "▸"} {name}
        <span class="sub">
          {" "}
          {endpointsText(service)} · {routes.length} route{routes.length === 1 ? "" : "s"}
        </span>
      </button>
      {props.open ? (
        <svg width={columns[2]! + nodeWidth + 8} height={height} role="img" aria-label={`routes of ${name}`}>
          <Node x={columns[0]!} y={2 + centre * rowHeight} text={name} kind="svc" />
          {routes.map((route) => {
            const at = rows.findIndex((r) => r.route.object === route);
            const span = rows.filter((r) => r.route.object === route).length;
            const y = 2 + at * rowHeight + ((span - 1) * rowHeight) / 2;
            return (
              <g key={route}>
                <path
                  class="edge"
                  d={`M${columns[0]! + nodeWidth},${middle(centre)} L${columns[1]},${y + (rowHeight - 6) / 2}`}
                />
                <Node
                  x={columns[1]!}
                  y={y}
                  text={route.slice(route.indexOf(" ") + 1)}
                  sub={route.split(" ")[0]}
                  kind="route"
                />
              </g>
            );
          })}
          {rows.map((row, i) => {
            const backend = `${row.backend.namespace}/${row.backend.name}`;
            const routeAt = rows.findIndex((r) => r.route.object === row.route.object);
            const span = rows.filter((r) => r.route.object === row.route.object).length;
            const from = routeAt + (span - 1) / 2;
            const percent = Math.round(row.share * 1000) / 10;
            return (
              <g key={`${row.route.object}|${row.rule}|${backend}`}>
                <path
                  class={row.backend.invalid ? "edge invalid" : "edge"}
                  d={`M${columns[1]! + nodeWidth},${middle(from)} L${columns[2]},${middle(i)}`}
                  stroke-width={1 + 5 * row.share}
                />
                <text
                  class="weight"
                  data-testid="weight"
                  data-route={row.route.object}
                  data-rule={row.rule}
                  data-backend={backend}
                  x={columns[2]! - 96}
                  y={middle(i) - 4}
                >
                  {row.backend.weight} ({percent}%)
                </text>
                <Node
                  x={columns[2]!}
                  y={2 + i * rowHeight}
                  text={backend}
                  sub={row.backend.invalid ? "invalid" : endpointsText(props.services.get(backend))}
                  kind={row.backend.invalid ? "backend invalid" : "backend"}
                />
              </g>
            );
          })}
        </svg>
      ) : null}
    </section>
  );
}

const pageSize = 20;

const nameOf = (s: ServiceEntry) => `${s.namespace}/${s.name}`;

/** Every Service, routed ones first, filtered by name and paged. */
export function MeshGraph(props: { services: readonly ServiceEntry[] }) {
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState(0);
  const [closed, setClosed] = useState<ReadonlySet<string>>(new Set());
  // Sorted once per change of the Services, not on every keystroke or page turn.
  const { byName, sorted } = useMemo(() => {
    const named = props.services.map((s) => ({ name: nameOf(s), service: s, routed: s.routes.length > 0 }));
    named.sort(
      (a, b) => Number(b.routed) - Number(a.routed) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    return { byName: new Map(named.map((n) => [n.name, n.service])), sorted: named };
  }, [props.services]);
  const shown = useMemo(
    () => (filter ? sorted.filter((n) => n.name.includes(filter)) : sorted).map((n) => n.service),
    [sorted, filter],
  );
  const pages = Math.max(1, Math.ceil(shown.length / pageSize));
  const current = Math.min(page, pages - 1);
  return (
    <div>
      <div class="controls">
        <input
          placeholder="filter services"
          data-testid="service-filter"
          value={filter}
          onInput={(e) => {
            setFilter((e.target as HTMLInputElement).value);
            setPage(0);
          }}
        />
        <Pager
          page={current}
          pages={pages}
          setPage={setPage}
          total={shown.length}
          what="services"
          testid="service-pager"
        />
      </div>
      {shown.slice(current * pageSize, (current + 1) * pageSize).map((service) => {
        const key = nameOf(service);
        return (
          <ServiceGraph
            key={key}
            service={service}
            services={byName}
            open={!closed.has(key) && service.routes.length > 0}
            toggle={() => {
              const next = new Set(closed);
              if (next.has(key)) next.delete(key);
              else next.add(key);
              setClosed(next);
            }}
          />
        );
      })}
    </div>
  );
}

export function Pager(props: {
  page: number;
  pages: number;
  setPage: (page: number) => void;
  total: number;
  what: string;
  testid: string;
}) {
  return (
    <span class="pager" data-testid={props.testid} data-page={props.page} data-total={props.total}>
      <button disabled={props.page === 0} onClick={() => props.setPage(props.page - 1)}>
        ‹
      </button>{" "}
      page {props.page + 1} of {props.pages} ({props.total} {props.what}){" "}
      <button disabled={props.page >= props.pages - 1} onClick={() => props.setPage(props.page + 1)}>
        ›
      </button>
    </span>
  );
}
