// The IPPC partnerships register's public page: plain JavaScript, no build step, no library.
// It reads the register's public API on another origin (CORS), anonymously. Every text from the
// API is written with textContent, never as HTML.
"use strict";

// The API's address: `?api=https://partnerships.ippc.example` on the page's URL, or the local
// service's default address.
const API = (new URLSearchParams(window.location.search).get("api") || "http://127.0.0.1:8000")
  .replace(/\/+$/, "");
const PAGE = 20;

const CATEGORIES = {
  nppo: "National plant protection organization",
  rppo: "Regional plant protection organization",
  un_organization: "UN organization",
  intergovernmental_organization: "Intergovernmental organization",
  industry_association: "Industry association",
  private_company: "Private company",
  ngo: "Non-governmental organization",
  academic_research: "Academic or research institution",
  foundation_donor: "Foundation or donor",
  other: "Other",
};
const STATUSES = {
  approved: "Approved", active: "Active", suspended: "Suspended", ended: "Ended",
  terminated: "Terminated",
};
const BODIES = { bureau: "CPM Bureau", cpm: "CPM" };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function words(value) {
  return String(value).replace(/_/g, " ");
}

async function getJson(path) {
  const response = await fetch(API + path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status} from ${path}`);
  return response.json();
}

function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value) search.append(name, value);
  }
  return search.toString();
}

// --- Agreements ----------------------------------------------------------------------------------

const agreements = { cursor: null, loading: false };

function partnerButton(partner) {
  const button = element("button", partner.acronym || partner.name, "partner");
  button.type = "button";
  button.title = partner.name;
  button.dataset.organization = partner.id;
  button.addEventListener("click", () => showProfile(partner.id));
  return button;
}

function agreementCard(item) {
  const card = element("li", null, "card agreement");
  card.dataset.id = item.id;
  card.append(element("h3", item.title));
  const meta = element("p", null, "meta");
  meta.append(
    element("span", STATUSES[item.status] || item.status, "tag status"),
    element("span", words(item.level), "tag"),
    element("span", words(item.instrument), "tag"),
  );
  for (const code of item.strategic_objectives) meta.append(element("span", code, "tag objective"));
  card.append(meta);
  if (item.public_summary) card.append(element("p", item.public_summary));
  const partners = element("p", "Partners: ", "meta partners");
  for (const partner of item.partners) partners.append(partnerButton(partner));
  card.append(partners);
  if (item.signed_on) card.append(element("p", `Signed on ${item.signed_on}`, "meta"));
  const decisions = element("ul", null, "decisions");
  for (const decision of item.decisions) {
    decisions.append(element("li",
      `${decision.decided_on}: ${BODIES[decision.governing_body] || decision.governing_body} ` +
      `${decision.outcome} (${decision.meeting_reference})`));
  }
  card.append(decisions);
  return card;
}

function agreementFilters() {
  return {
    strategic_objective: document.getElementById("objective").value,
    partner_category: document.getElementById("category").value,
  };
}

async function loadAgreements(reset) {
  if (agreements.loading) return;
  agreements.loading = true;
  const list = document.getElementById("agreements");
  const status = document.getElementById("agreements-status");
  const more = document.getElementById("more-agreements");
  if (reset) {
    agreements.cursor = null;
    list.replaceChildren();
  }
  status.textContent = "Loading…";
  try {
    const page = await getJson("/v1/public/agreements?" + query({
      ...agreementFilters(), sort: "-approved_on", limit: PAGE, cursor: agreements.cursor,
    }));
    for (const item of page.items) list.append(agreementCard(item));
    agreements.cursor = page.next_cursor;
    more.hidden = !page.next_cursor;
    const shown = list.children.length;
    status.textContent = shown ? `${shown} agreement${shown === 1 ? "" : "s"} shown.` :
      "No approved agreement matches these filters.";
  } catch (error) {
    status.textContent = "The register could not be read: " + error.message;
  } finally {
    agreements.loading = false;
  }
}

async function loadFilters() {
  const objective = document.getElementById("objective");
  const objectives = await getJson("/v1/strategic-objectives?limit=200");
  for (const item of objectives.items) {
    const option = element("option", `${item.code}: ${item.title}`);
    option.value = item.code;
    objective.append(option);
  }
  const category = document.getElementById("category");
  for (const [value, label] of Object.entries(CATEGORIES)) {
    const option = element("option", label);
    option.value = value;
    category.append(option);
  }
}

// --- A partner's public profile -----------------------------------------------------------------

async function showProfile(id) {
  const section = document.getElementById("profile");
  const profile = await getJson(`/v1/public/organizations/${encodeURIComponent(id)}`);
  document.getElementById("profile-title").textContent = profile.name;
  const facts = document.getElementById("profile-facts");
  facts.replaceChildren();
  const rows = [
    ["Acronym", profile.acronym],
    ["Category", profile.category && CATEGORIES[profile.category]],
    ["Sector", profile.sector],
    ["Scope", profile.geographic_scope],
    ["Country", profile.country],
    ["Website", profile.website],
    ["Public agreements", String(profile.agreement_count)],
    ["Public meetings", String(profile.interaction_count)],
  ];
  for (const [label, value] of rows) {
    if (!value) continue;
    facts.append(element("dt", label), element("dd", value));
  }
  const agreementList = document.getElementById("profile-agreements");
  agreementList.replaceChildren(
    ...profile.agreements.map((item) => element("li", `${item.title} (${STATUSES[item.status]})`)));
  const meetingList = document.getElementById("profile-meetings");
  meetingList.replaceChildren(
    ...profile.interactions.map((item) => element("li", `${item.occurred_on}: ${item.subject}`)));
  section.hidden = false;
  section.scrollIntoView({ behavior: "smooth", block: "start" });
}

// --- Public meetings -----------------------------------------------------------------------------

const meetings = { cursor: null };

async function loadMeetings() {
  const body = document.querySelector("#meetings tbody");
  const status = document.getElementById("meetings-status");
  try {
    const page = await getJson("/v1/public/interactions?" + query({
      limit: PAGE, cursor: meetings.cursor,
    }));
    for (const item of page.items) {
      const row = element("tr");
      row.dataset.id = item.id;
      row.append(
        element("td", item.occurred_on),
        element("td", item.channel),
        element("td", item.subject),
        element("td", item.organizations.map((o) => o.acronym || o.name).join(", ")),
      );
      body.append(row);
    }
    meetings.cursor = page.next_cursor;
    document.getElementById("more-meetings").hidden = !page.next_cursor;
    status.textContent = body.children.length ? "" : "No public meeting yet.";
  } catch (error) {
    status.textContent = "The meetings could not be read: " + error.message;
  }
}

// --- The engagement balance ----------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Shares of meetings and of agreements by partner category over every year of the balance:
// each year's (item, organization) pairs by category and sector, summed by category.
function sharesByCategory(balance) {
  const totals = { interactions: {}, agreements: {} };
  for (const year of balance.years) {
    const counts = totals[year.kind];
    if (!counts) continue;
    for (const row of year.counts) {
      const key = row.partner_category || "other";
      counts[key] = (counts[key] || 0) + row.count;
    }
  }
  const share = (counts) => {
    const all = Object.values(counts).reduce((a, b) => a + b, 0);
    return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, all ? v / all : 0]));
  };
  return { interactions: share(totals.interactions), agreements: share(totals.agreements) };
}

function drawBalance(balance) {
  const shares = sharesByCategory(balance);
  const categories = Object.keys(CATEGORIES).filter(
    (key) => shares.interactions[key] || shares.agreements[key]);
  const chart = document.getElementById("balance");
  chart.replaceChildren();
  if (!categories.length) {
    document.getElementById("balance-status").textContent = "Nothing public to weigh yet.";
    return;
  }
  const rowHeight = 34;
  const labelWidth = 290;
  const barWidth = 420;
  const height = categories.length * rowHeight + 40;
  const plot = svg("svg", {
    viewBox: `0 0 ${labelWidth + barWidth + 70} ${height}`,
    role: "img",
    "aria-label": "Share of public meetings and approved agreements by partner category",
  });
  categories.forEach((key, index) => {
    const y = index * rowHeight + 10;
    const group = svg("g", { class: "bar", "data-category": key });
    group.append(svg("text", { x: 0, y: y + 16 }, CATEGORIES[key]));
    [["interactions", "legend-meetings", 0], ["agreements", "legend-agreements", 14]].forEach(
      ([kind, className, offset]) => {
        const value = shares[kind][key] || 0;
        group.append(svg("rect", {
          x: labelWidth, y: y + offset, height: 12, width: Math.max(value * barWidth, 1),
          class: className,
        }));
        group.append(svg("text", { x: labelWidth + value * barWidth + 6, y: y + offset + 10 },
          `${Math.round(value * 100)}%`));
      });
    plot.append(group);
  });
  const legendY = height - 14;
  plot.append(
    svg("rect", { x: labelWidth, y: legendY - 10, width: 12, height: 12, class: "legend-meetings" }),
    svg("text", { x: labelWidth + 18, y: legendY }, "public meetings"),
    svg("rect", { x: labelWidth + 150, y: legendY - 10, width: 12, height: 12,
      class: "legend-agreements" }),
    svg("text", { x: labelWidth + 168, y: legendY }, "approved agreements"),
  );
  chart.append(plot);
  document.getElementById("balance-status").textContent = "";
}

async function loadBalance() {
  try {
    drawBalance(await getJson("/v1/public/engagement-balance"));
  } catch (error) {
    document.getElementById("balance-status").textContent =
      "The balance could not be read: " + error.message;
  }
}

// --- Start ---------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("filters").addEventListener("change", () => loadAgreements(true));
  document.getElementById("more-agreements").addEventListener("click", () => loadAgreements(false));
  document.getElementById("more-meetings").addEventListener("click", () => loadMeetings());
  document.getElementById("close-profile").addEventListener("click", () => {
    document.getElementById("profile").hidden = true;
  });
  try {
    await loadFilters();
  } catch (error) {
    document.getElementById("agreements-status").textContent =
      "The register could not be read: " + error.message;
    return;
  }
  await Promise.all([loadAgreements(true), loadMeetings(), loadBalance()]);
  document.body.dataset.ready = "true";
});
