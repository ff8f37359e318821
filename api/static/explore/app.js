/* Placenet explore page: the shared map (Leaflet and topojson-client) and the collaboration network
   (Cytoscape.js), both read from the API's JSON endpoints. Plain JavaScript, no build step: the file
   runs as it is. Everything it loads comes from this app. */
(function () {
  'use strict';

  var API = '/v1';
  var TOPOJSON_URL = '/explore/static/data/uk-topo.json';
  var UK_BOUNDS = [[49.85, -8.2], [60.85, 1.8]];
  var ATTRIBUTION =
    'Boundaries: Source: Office for National Statistics licensed under the ' +
    '<a href="/explore/static/data/README.md">Open Government Licence v.3.0</a>. ' +
    'Contains OS data © Crown copyright and database right 2016.';

  // ---- Colours --------------------------------------------------------------------------------
  // Measures: a viridis scale, light to dark (its palest yellow left out so that "none", a light
  // grey, stays distinct). Viridis reads in order for every common colour-vision deficiency.
  var SEQUENTIAL = ['#b5de2b', '#6ece58', '#1f9e89', '#26828e', '#3e4989', '#440154'];
  var NONE = '#e4e4e4';
  // Kinds of organisation: Okabe–Ito colours, each with its own shape, so that no reader needs the
  // colour alone. One family per group of kinds keeps the legend short.
  var FAMILIES = [
    { key: 'funder', label: 'Funders, funder networks', colour: '#E69F00', shape: 'ellipse',
      kinds: ['foundation', 'funder', 'funder_network'] },
    { key: 'public', label: 'Councils, NHS, government', colour: '#0072B2', shape: 'round-rectangle',
      kinds: ['local_authority', 'nhs_body', 'government_body'] },
    { key: 'research', label: 'Universities, research', colour: '#009E73', shape: 'diamond',
      kinds: ['university', 'research_institute', 'think_tank'] },
    { key: 'voluntary', label: 'Charities, community groups', colour: '#CC79A7',
      shape: 'hexagon', kinds: ['charity', 'community_group', 'social_enterprise'] },
    { key: 'lived', label: 'Lived-experience forums', colour: '#D55E00', shape: 'star',
      kinds: ['lived_experience_forum'] },
    { key: 'consultancy', label: 'Consultancies', colour: '#56B4E9', shape: 'triangle', kinds: ['consultancy'] },
    { key: 'other', label: 'Other', colour: '#999999', shape: 'octagon', kinds: ['other'] }
  ];
  // The same shapes as small SVG glyphs for the legend (a 16×16 box).
  var GLYPHS = {
    'ellipse': '<circle cx="8" cy="8" r="6.5"/>',
    'round-rectangle': '<rect x="1.5" y="2.5" width="13" height="11" rx="3"/>',
    'diamond': '<polygon points="8,1 15,8 8,15 1,8"/>',
    'hexagon': '<polygon points="4.5,2 11.5,2 15,8 11.5,14 4.5,14 1,8"/>',
    'star': '<polygon points="8,1 9.9,6 15,6 10.9,9.2 12.4,14.5 8,11.3 3.6,14.5 5.1,9.2 1,6 6.1,6"/>',
    'triangle': '<polygon points="8,1.5 15,14.5 1,14.5"/>',
    'octagon': '<polygon points="5,1 11,1 15,5 15,11 11,15 5,15 1,11 1,5"/>'
  };

  var RECORD_KINDS = {
    interest_group: { label: 'Interest group', plural: 'Interest groups', collection: 'interest-groups', group: 'interest_groups' },
    co_funding: { label: 'Co-funding arrangement', plural: 'Co-funding arrangements', collection: 'co-funding', group: 'co_funding' },
    research: { label: 'Research', plural: 'Research', collection: 'research', group: 'research' },
    grant: { label: 'Grant', plural: 'Grants', collection: 'grants', group: 'grants' },
    engagement: { label: 'Engagement', plural: 'Engagements', collection: 'engagements', group: 'engagements' }
  };
  var LEVEL_LABELS = {
    uk: 'United Kingdom', nation: 'Nation', region: 'Region', combined_authority: 'Combined authority',
    county: 'County', local_authority: 'Local authority', neighbourhood: 'Neighbourhood', other: 'Other'
  };
  var LEVEL_PLURALS = {
    nation: 'nations', region: 'regions', combined_authority: 'combined authorities', county: 'counties',
    local_authority: 'local authorities', neighbourhood: 'neighbourhoods'
  };

  // ---- What the map can show: each measure reads a feature's properties ----------------------------
  function counted(p) {
    var c = p.counts;
    return c.interest_groups + c.co_funding + c.research + c.grants + c.engagements;
  }
  function gbp(list) {
    return (list || []).reduce(function (sum, m) { return sum + (m.currency === 'GBP' ? Number(m.amount) : 0); }, 0);
  }
  var MEASURES = {
    records: { label: 'Collaboration records', value: counted },
    grants: { label: 'Grants', value: function (p) { return p.counts.grants; } },
    money: { label: 'Money (GBP awarded and pooled)', money: true,
      value: function (p) { return gbp(p.money.awarded) + gbp(p.money.pooled); } },
    co_funding: { label: 'Co-funding arrangements', value: function (p) { return p.counts.co_funding; } },
    interest_groups: { label: 'Interest groups', value: function (p) { return p.counts.interest_groups; } },
    research: { label: 'Research', value: function (p) { return p.counts.research; } },
    engagements: { label: 'Engagements', value: function (p) { return p.counts.engagements; } },
    organisations: { label: 'Organisations based there', value: function (p) { return p.counts.organisations; } }
  };

  // Boundaries: aliases from the joining notes in data/README.md. Greater London (a combined
  // authority in Placenet) takes the London region's shape; Glasgow City and North Lanarkshire
  // take the shapes of their former codes.
  var SHAPE_ALIASES = { E61000001: 'E12000007', S12000049: 'S12000046', S12000050: 'S12000044' };
  var SHAPE_LAYERS = ['ctry', 'rgn', 'cauth', 'cty', 'ltla'];

  var state = {
    view: null,
    level: 'nation',
    measure: 'records',
    withRecords: false,
    shapes: null,            // GSS code -> GeoJSON geometry
    mapData: null,           // the last /v1/map FeatureCollection
    mapLayers: new Map(),    // place id -> Leaflet layer
    placeGroup: null,
    scale: null,
    selectedPlace: null,
    storyPlace: null,        // the place whose story the panel tells
    refreshStory: false,     // the filters changed since it was told
    network: null,           // the last /v1/network body
    edges: new Map(),        // edge key -> edge
    nodes: new Map(),        // node id -> node
    stale: { map: true, network: true },
    seq: { map: 0, network: 0, story: 0, detail: 0, path: 0 }
  };
  var map = null;
  var cy = null;

  // ---- Small helpers ------------------------------------------------------------------------------
  function $(selector) { return document.querySelector(selector); }
  function esc(text) {
    return String(text == null ? '' : text).replace(/[&<>"']/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch];
    });
  }
  var integer = new Intl.NumberFormat('en-GB');
  function fmtNumber(value) { return integer.format(value); }
  // A link's weight or a node's strength: a sum of 1s and 1/(n-1)s (docs/network.md).
  var decimal = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 });
  function fmtWeight(value) { return decimal.format(value); }
  function recordCount(count) { return fmtNumber(count) + (count === 1 ? ' record' : ' records'); }
  function fmtMoney(amount, currency) {
    try {
      return new Intl.NumberFormat('en-GB', { style: 'currency', currency: currency, maximumFractionDigits: 0 })
        .format(Number(amount));
    } catch (error) {
      return fmtNumber(Number(amount)) + ' ' + currency;
    }
  }
  function fmtMoneyList(list) {
    return (list || []).map(function (m) { return fmtMoney(m.amount, m.currency); }).join(' + ');
  }
  function fmtMeasure(measure, value) {
    return MEASURES[measure].money ? fmtMoney(value, 'GBP') : fmtNumber(value);
  }
  function fmtDates(starts, ends) {
    if (starts && ends) return starts + ' to ' + ends;
    if (starts) return 'from ' + starts;
    if (ends) return 'until ' + ends;
    return '';
  }
  function kindLabel(kind) { return String(kind || '').replace(/_/g, ' '); }
  function family(kind) {
    return FAMILIES.find(function (f) { return f.kinds.indexOf(kind) >= 0; }) || FAMILIES[FAMILIES.length - 1];
  }
  function glyph(shape, colour) {
    return '<svg class="glyph" viewBox="0 0 16 16" aria-hidden="true" focusable="false" fill="' + colour +
      '" stroke="#333" stroke-width="1">' + GLYPHS[shape] + '</svg>';
  }
  function edgeKey(a, b) { return a < b ? a + '~' + b : b + '~' + a; }

  function setStatus(text, isError) {
    var status = $('#status');
    status.textContent = text || '';
    status.classList.toggle('error', Boolean(isError));
  }

  // ---- Talking to the API ---------------------------------------------------------------------------
  function apiUrl(path, params) {
    var query = new URLSearchParams();
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (value === undefined || value === null || value === '' || value === false) return;
      if (Array.isArray(value)) value.forEach(function (v) { query.append(key, v); });
      else query.append(key, String(value));
    });
    var text = query.toString();
    return path + (text ? '?' + text : '');
  }

  // A failed call becomes an Error whose message is the API's own explanation (RFC 9457 problem).
  async function getJSON(path, params) {
    var url = apiUrl(path, params);
    var response = await fetch(url, { headers: { Accept: 'application/json, application/geo+json' } });
    if (!response.ok) {
      var message = response.status + ' ' + response.statusText;
      try {
        var problem = await response.json();
        message = problem.detail || problem.title || message;
        if (problem.errors && problem.errors.length) {
          message += ' (' + problem.errors.map(function (e) { return e.field + ': ' + e.message; }).join('; ') + ')';
        }
      } catch (ignored) { /* not JSON: keep the status line */ }
      var error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  // ---- Filters: the same names and meanings as the API's query parameters ----------------------------
  var ALL_KINDS = ['organisation', 'interest_group', 'co_funding', 'research', 'grant', 'engagement'];

  function readFilters() {
    var form = $('#filters');
    var kinds = Array.prototype.map.call(form.querySelectorAll('input[name=kind]:checked'), function (i) { return i.value; });
    return {
      kinds: kinds,
      organisation: form.elements.organisation.value,
      place: form.elements.place.value.trim(),
      active_on: form.elements.active_on.value,
      from: form.elements.from.value,
      to: form.elements.to.value
    };
  }
  // Every kind ticked is the same as none named: the API's default.
  function mapKinds(f) { return f.kinds.length === ALL_KINDS.length ? [] : f.kinds; }
  function collaborationKinds(f) {
    var kinds = f.kinds.filter(function (k) { return k !== 'organisation'; });
    return kinds.length === ALL_KINDS.length - 1 ? [] : kinds;
  }
  function dateParams(f) { return { active_on: f.active_on, from: f.from, to: f.to }; }

  function mapParams(f) {
    return Object.assign({
      level: state.level,
      kind: mapKinds(f),
      organisation: f.organisation,
      place: f.place,
      with_records: state.withRecords ? 'true' : '',
      geometry: state.level === 'neighbourhood' ? 'centroid' : 'boundary'
    }, dateParams(f));
  }
  function networkParams(f) {
    return Object.assign({ kind: collaborationKinds(f), organisation: f.organisation, place: f.place }, dateParams(f));
  }
  function activityParams(f) {
    return Object.assign({ kind: mapKinds(f), organisation: f.organisation, limit: 25 }, dateParams(f));
  }
  function checkKinds(f, forNetwork) {
    if (!f.kinds.length) return 'Tick at least one kind of record.';
    if (forNetwork && !f.kinds.some(function (k) { return k !== 'organisation'; })) {
      return 'The network links organisations through shared records: tick at least one kind besides organisations.';
    }
    return null;
  }

  // ---- Sortable tables (the text alternative to the map and the network) ------------------------------
  // columns: [{key, label, num, value(row) for sorting, cell(row) -> HTML}]
  function SortableTable(table, columns, options) {
    this.table = table;
    this.columns = columns;
    this.rows = [];
    this.filter = null;
    this.sortKey = options.sortKey;
    this.descending = Boolean(options.descending);
    this.onAction = options.onAction;
    var self = this;
    var head = '<tr>' + columns.map(function (c) {
      return '<th scope="col"' + (c.num ? ' class="num"' : '') + ' data-key="' + c.key + '">' +
        '<button type="button" data-sort="' + c.key + '">' + esc(c.label) + '</button></th>';
    }).join('') + '</tr>';
    table.tHead.innerHTML = head;
    table.tHead.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-sort]');
      if (!button) return;
      var key = button.getAttribute('data-sort');
      var column = self.columns.find(function (c) { return c.key === key; });
      // A new column sorts numbers largest first and text A to Z; the same column again reverses.
      self.descending = key === self.sortKey ? !self.descending : Boolean(column.num);
      self.sortKey = key;
      self.render();
    });
    table.tBodies[0].addEventListener('click', function (event) {
      var button = event.target.closest('button[data-row]');
      if (button && self.onAction) self.onAction(self.rows[Number(button.getAttribute('data-row'))]);
    });
  }
  SortableTable.prototype.setRows = function (rows) { this.rows = rows; this.render(); };
  SortableTable.prototype.setFilter = function (filter) { this.filter = filter; this.render(); };
  SortableTable.prototype.render = function () {
    var self = this;
    var column = this.columns.find(function (c) { return c.key === self.sortKey; }) || this.columns[0];
    var order = this.rows.map(function (row, index) { return index; });
    if (this.filter) order = order.filter(function (i) { return self.filter(self.rows[i]); });
    order.sort(function (a, b) {
      var x = column.value(self.rows[a]);
      var y = column.value(self.rows[b]);
      var result = typeof x === 'number' ? x - y : String(x).localeCompare(String(y), 'en-GB');
      if (self.descending) result = -result;
      // Ties go by the first column, A to Z, whichever way the table is sorted.
      return result || String(self.columns[0].value(self.rows[a])).localeCompare(String(self.columns[0].value(self.rows[b])), 'en-GB');
    });
    Array.prototype.forEach.call(this.table.tHead.querySelectorAll('th'), function (th) {
      if (th.getAttribute('data-key') === column.key) th.setAttribute('aria-sort', self.descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
    this.table.tBodies[0].innerHTML = order.map(function (i) {
      var row = self.rows[i];
      return '<tr>' + self.columns.map(function (c, n) {
        var html = c.cell(row, i);
        return n === 0 ? '<th scope="row">' + html + '</th>' : '<td' + (c.num ? ' class="num"' : '') + '>' + html + '</td>';
      }).join('') + '</tr>';
    }).join('');
  };

  function numberColumn(key, label, read) {
    return { key: key, label: label, num: true, value: read, cell: function (row) { return fmtNumber(read(row)); } };
  }
  var placeTable = null;
  var nodeTable = null;

  function makeTables() {
    function props(read) { return function (f) { return read(f.properties); }; }
    placeTable = new SortableTable($('#place-table'), [
      { key: 'name', label: 'Place', value: props(function (p) { return p.name; }),
        cell: function (f, i) { return '<button type="button" class="link" data-row="' + i + '">' + esc(f.properties.name) + '</button>'; } },
      { key: 'code', label: 'GSS code', value: props(function (p) { return p.gss_code || ''; }),
        cell: function (f) { return esc(f.properties.gss_code || ''); } },
      numberColumn('records', 'Records', props(counted)),
      numberColumn('grants', 'Grants', props(MEASURES.grants.value)),
      { key: 'money', label: 'Money (GBP)', num: true, value: props(MEASURES.money.value),
        cell: function (f) { return esc(fmtMoney(MEASURES.money.value(f.properties), 'GBP')); } },
      numberColumn('co_funding', 'Co-funding', props(MEASURES.co_funding.value)),
      numberColumn('interest_groups', 'Interest groups', props(MEASURES.interest_groups.value)),
      numberColumn('research', 'Research', props(MEASURES.research.value)),
      numberColumn('engagements', 'Engagements', props(MEASURES.engagements.value)),
      numberColumn('organisations', 'Organisations', props(MEASURES.organisations.value))
    ], { sortKey: 'records', descending: true, onAction: function (feature) { focusPlace(feature, true); } });

    nodeTable = new SortableTable($('#node-table'), [
      { key: 'name', label: 'Organisation', value: function (n) { return n.name; },
        cell: function (n, i) { return '<button type="button" class="link" data-row="' + i + '">' + esc(n.name) + '</button>'; } },
      { key: 'kind', label: 'Kind', value: function (n) { return n.kind; },
        cell: function (n) { var f = family(n.kind); return glyph(f.shape, f.colour) + ' ' + esc(kindLabel(n.kind)); } },
      numberColumn('degree', 'Linked to', function (n) { return n.degree; }),
      { key: 'strength', label: 'Strength (sum of link weights)', num: true, value: function (n) { return n.strength; },
        cell: function (n) { return fmtWeight(n.strength); } },
      { key: 'centrality', label: 'Centrality', num: true, value: function (n) { return n.centrality || 0; },
        cell: function (n) { return n.centrality == null ? '–' : n.centrality.toFixed(3); } }
    ], { sortKey: 'centrality', descending: true, onAction: function (node) { selectNode(node.id, true); } });

    $('#place-table-filter').addEventListener('input', function (event) {
      var text = event.target.value.trim().toLowerCase();
      placeTable.setFilter(text ? function (f) {
        return f.properties.name.toLowerCase().indexOf(text) >= 0 ||
          String(f.properties.gss_code || '').toLowerCase().indexOf(text) >= 0;
      } : null);
    });
  }

  // ---- The map ------------------------------------------------------------------------------------------
  function initMap() {
    map = L.map('place-map', { zoomSnap: 0.25, minZoom: 4, maxZoom: 13, attributionControl: false });
    // Leaflet throws and draws nothing when vector layers are added before the map has a view:
    // give it one first.
    map.fitBounds(UK_BOUNDS);
    L.control.attribution({ prefix: '<a href="/explore/static/vendor/README.md">Leaflet</a>' })
      .addAttribution(ATTRIBUTION).addTo(map);
    map.createPane('land').style.zIndex = 350;  // under the places (overlayPane is 400)
  }

  // GSS code -> geometry, from the layers the page maps, with the joining notes applied
  // (data/README.md): current areas win; `cauth` keeps only combined authorities (E47); aliases last.
  function buildShapeIndex(topo, year) {
    function isCurrent(p) { return (p.start || 0) <= year && year <= (p.end || 9999); }
    var shapes = new Map();
    var ended = new Map();
    SHAPE_LAYERS.forEach(function (layer) {
      topojson.feature(topo, topo.objects[layer]).features.forEach(function (feature) {
        var code = feature.properties.areacd;
        if (layer === 'cauth' && code.indexOf('E47') !== 0) return;
        var into = isCurrent(feature.properties) ? shapes : ended;
        if (!into.has(code)) into.set(code, feature.geometry);
      });
    });
    ended.forEach(function (geometry, code) { if (!shapes.has(code)) shapes.set(code, geometry); });
    Object.keys(SHAPE_ALIASES).forEach(function (code) {
      if (!shapes.has(code) && shapes.has(SHAPE_ALIASES[code])) shapes.set(code, shapes.get(SHAPE_ALIASES[code]));
    });
    return shapes;
  }

  async function loadBoundaries() {
    var response = await fetch(TOPOJSON_URL);
    if (!response.ok) throw new Error('The boundaries could not be loaded (' + response.status + ').');
    var topo = await response.json();
    state.shapes = buildShapeIndex(topo, new Date().getFullYear());
    // The four nations as a plain backdrop, so that points and missing places still have a UK around them.
    L.geoJSON(topojson.feature(topo, topo.objects.ctry), {
      pane: 'land', interactive: false,
      style: { color: '#8c959f', weight: 0.8, fillColor: '#ffffff', fillOpacity: 1 }
    }).addTo(map);
  }

  // Classes for the legend and the colours: one per value when there are few, else sextiles.
  function makeScale(values, measure) {
    var positive = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    var distinct = Array.from(new Set(positive));
    var breaks;
    if (distinct.length <= SEQUENTIAL.length) {
      breaks = distinct;
    } else {
      breaks = [];
      for (var i = 1; i <= SEQUENTIAL.length; i += 1) breaks.push(positive[Math.ceil(i * positive.length / SEQUENTIAL.length) - 1]);
      breaks = Array.from(new Set(breaks));
    }
    var colours = breaks.length === 1 ? [SEQUENTIAL[3]] : breaks.map(function (_, n) {
      return SEQUENTIAL[Math.round(n * (SEQUENTIAL.length - 1) / (breaks.length - 1))];
    });
    var max = positive.length ? positive[positive.length - 1] : 0;
    var money = Boolean(MEASURES[measure].money);
    return {
      classes: breaks.map(function (upper, n) {
        var label;
        if (distinct.length <= SEQUENTIAL.length) label = fmtMeasure(measure, upper);
        else if (n === 0) label = fmtMeasure(measure, positive[0]) + ' to ' + fmtMeasure(measure, upper);
        else if (money) label = 'over ' + fmtMeasure(measure, breaks[n - 1]) + ' to ' + fmtMeasure(measure, upper);
        else label = fmtMeasure(measure, breaks[n - 1] + 1) + (breaks[n - 1] + 1 === upper ? '' : ' to ' + fmtMeasure(measure, upper));
        return { label: label, colour: colours[n] };
      }),
      colour: function (v) {
        if (!(v > 0)) return NONE;
        for (var n = 0; n < breaks.length; n += 1) if (v <= breaks[n]) return colours[n];
        return colours[colours.length - 1];
      },
      radius: function (v) { return v > 0 && max > 0 ? 4 + 9 * Math.sqrt(v / max) : 3; }
    };
  }

  function styleFor(layer) {
    var p = layer.feature.properties;
    var value = MEASURES[state.measure].value(p);
    var selected = state.selectedPlace === p.id;
    var style = {
      fillColor: state.scale.colour(value), fillOpacity: 0.9,
      // Points with nothing to count get a light outline, so that thousands of them do not read as data.
      color: selected ? '#000000' : (layer.isPoint ? (value > 0 ? '#333333' : '#8c959f') : '#ffffff'),
      weight: selected ? 3 : (layer.isPoint ? (value > 0 ? 1 : 0.5) : 0.6)
    };
    return style;
  }

  function tooltipHtml(p) {
    var rows = [
      ['Collaboration records', counted(p)], ['Grants', p.counts.grants], ['Co-funding', p.counts.co_funding],
      ['Interest groups', p.counts.interest_groups], ['Research', p.counts.research],
      ['Engagements', p.counts.engagements], ['Organisations', p.counts.organisations]
    ];
    var money = [];
    if (p.money.awarded.length) money.push(['Awarded', fmtMoneyList(p.money.awarded)]);
    if (p.money.pooled.length) money.push(['Pooled', fmtMoneyList(p.money.pooled)]);
    return '<strong>' + esc(p.name) + '</strong> <span>' + esc(p.gss_code || '') + '</span>' +
      '<table>' + rows.map(function (r) {
        return '<tr><td>' + r[0] + '</td><td>' + fmtNumber(r[1]) + '</td></tr>';
      }).join('') + money.map(function (r) {
        return '<tr><td>' + r[0] + '</td><td>' + esc(r[1]) + '</td></tr>';
      }).join('') + '</table>';
  }

  async function loadMap() {
    var f = readFilters();
    var problem = checkKinds(f, false);
    if (problem) { setStatus(problem, true); return; }
    var seq = ++state.seq.map;
    state.stale.map = false;
    document.body.dataset.mapState = 'loading';
    setStatus('Loading the map…');
    try {
      if (!state.shapes) await loadBoundaries();
      var data = await getJSON(API + '/map', mapParams(f));
      if (seq !== state.seq.map) return;  // a newer request has been made
      state.mapData = data;
      drawMap(Boolean(f.place));
      placeTable.setRows(data.features);
      fillPlaceNames(data.features);
      if (state.refreshStory && state.storyPlace) {
        // Tell the story again under the new filters, with the place's new figures when it is on the map.
        state.refreshStory = false;
        var fresh = data.features.find(function (x) { return x.properties.id === state.storyPlace.id; });
        var place = fresh ? fresh.properties : Object.assign({}, state.storyPlace, { counts: null });
        openStory(place, false, place.level === 'uk');
      }
      var withRecords = data.features.filter(function (x) { return counted(x.properties) > 0; }).length;
      var what = LEVEL_PLURALS[state.level];
      if (!data.features.length && state.level === 'neighbourhood') {
        setStatus('No neighbourhoods are loaded: an admin can load fixtures/places/neighbourhoods.json.');
      } else {
        setStatus(fmtNumber(data.features.length) + ' ' + what + ' drawn; ' + fmtNumber(withRecords) +
          ' with collaboration records.');
      }
      document.body.dataset.mapState = 'ready';
    } catch (error) {
      if (seq !== state.seq.map) return;
      setStatus(error.message, true);
      document.body.dataset.mapState = 'error';
    }
  }

  function drawMap(fit) {
    if (state.placeGroup) state.placeGroup.remove();
    state.mapLayers = new Map();
    var features = state.mapData.features;
    var group = L.featureGroup();
    features.forEach(function (feature) {
      var p = feature.properties;
      var shape = feature.geometry.type === 'Point' ? state.shapes.get(p.gss_code) : feature.geometry;
      if (state.level === 'neighbourhood') shape = null;  // MSOAs have no boundaries here: points
      var layer;
      if (shape) {
        layer = L.GeoJSON.geometryToLayer({ type: 'Feature', geometry: shape }, { className: 'place place-shape' });
      } else {
        layer = L.circleMarker([p.centroid[1], p.centroid[0]], { className: 'place place-point', radius: 4 });
        layer.isPoint = true;
      }
      layer.feature = feature;
      layer.bindTooltip(function () { return tooltipHtml(p); }, { sticky: true, className: 'place-tip', direction: 'top', opacity: 0.96 });
      layer.on('mouseover', function () { layer.setStyle({ weight: 2.5, color: '#1b1f24' }); if (!layer.isPoint) layer.bringToFront(); });
      layer.on('mouseout', function () { layer.setStyle(styleFor(layer)); });
      layer.on('click', function () { focusPlace(feature, false); });
      state.mapLayers.set(p.id, layer);
      group.addLayer(layer);
    });
    state.placeGroup = group;
    restyle();
    group.addTo(map);
    group.eachLayer(function (layer) {
      var element = layer.getElement();
      if (!element) return;
      var p = layer.feature.properties;
      // Name each drawn place in the document: for tests, and for anyone inspecting the page.
      element.setAttribute('data-code', p.gss_code || '');
      element.setAttribute('data-slug', p.slug);
      // Leaflet makes every shape with a tooltip a tab stop: hundreds (thousands of neighbourhoods) before
      // the rest of the page. Keyboard users have the table of the same places instead, whose names open
      // the stories, and the map itself still pans and zooms from the keyboard.
      element.setAttribute('tabindex', '-1');
    });
    if (fit && features.length) map.fitBounds(group.getBounds(), { maxZoom: 10 });
  }

  function restyle() {
    if (!state.mapData) return;
    state.scale = makeScale(state.mapData.features.map(function (x) { return MEASURES[state.measure].value(x.properties); }), state.measure);
    state.mapLayers.forEach(function (layer) {
      layer.setStyle(styleFor(layer));
      if (layer.isPoint) layer.setRadius(state.scale.radius(MEASURES[state.measure].value(layer.feature.properties)));
    });
    drawMapLegend();
  }

  function drawMapLegend() {
    var scale = state.scale;
    var items = scale.classes.map(function (c) {
      return '<li><span class="swatch" style="background:' + c.colour + '"></span>' + esc(c.label) + '</li>';
    });
    items.push('<li><span class="swatch" style="background:' + NONE + '"></span>none</li>');
    var note = state.level === 'neighbourhood' ? '<p>Neighbourhoods are points at their centroids.</p>' : '';
    $('#map-legend').innerHTML = '<h4>' + esc(MEASURES[state.measure].label) + ':</h4><ul>' + items.join('') + '</ul>' + note;
  }

  function fillPlaceNames(features) {
    $('#place-names').innerHTML = features.map(function (x) {
      return '<option value="' + esc(x.properties.name) + '">' + esc(x.properties.gss_code || '') + '</option>';
    }).join('');
  }

  // Zoom to a place (from the table or the search box) and tell its story.
  function focusPlace(feature, zoom) {
    var previous = state.mapLayers.get(state.selectedPlace);
    state.selectedPlace = feature.properties.id;
    if (previous) previous.setStyle(styleFor(previous));
    var layer = state.mapLayers.get(feature.properties.id);
    if (layer) {
      layer.setStyle(styleFor(layer));
      if (zoom) {
        if (layer.isPoint) map.setView(layer.getLatLng(), Math.max(map.getZoom(), 9));
        else map.fitBounds(layer.getBounds(), { maxZoom: 10, padding: [20, 20] });
      }
    }
    openStory(feature.properties, zoom);
  }

  // ---- A place's story: /v1/places/{ref}/activity and /funders ----------------------------------------------
  function recordLink(kind, record) {
    var info = RECORD_KINDS[kind];
    return '<a href="' + API + '/' + info.collection + '/' + encodeURIComponent(record.slug) + '">' + esc(record.name) + '</a>';
  }
  function orgLink(org) {
    return '<a href="' + API + '/organisations/' + encodeURIComponent(org.slug) + '">' + esc(org.name) + '</a>';
  }
  function roles(list) { return list.map(kindLabel).join(', '); }

  function recordItems(kind, group, path) {
    var html = '<ul>' + group.items.map(function (r) {
      var bits = [fmtDates(r.starts_on, r.ends_on), fmtMoneyList(r.money)].filter(Boolean).join(' · ');
      var people = r.participants.map(function (x) {
        return esc(x.organisation.name) + ' <span class="roles">(' + esc(roles(x.roles)) + ')</span>';
      }).join('; ');
      return '<li>' + recordLink(kind, r) + (bits ? ' <span class="roles">' + esc(bits) + '</span>' : '') +
        (people ? '<br><small>' + people + '</small>' : '') + '</li>';
    }).join('') + '</ul>';
    if (group.total > group.items.length) {
      html += '<p><small>and ' + fmtNumber(group.total - group.items.length) + ' more: <a href="' +
        esc(path) + '">the full list (JSON)</a></small></p>';
    }
    return html;
  }

  // quiet: the UK at start-up, which an empty database may not have; say nothing if it fails.
  async function openStory(place, moveFocus, quiet) {
    var panel = $('#story');
    var seq = ++state.seq.story;
    state.storyPlace = place;
    var ref = place.gss_code || place.slug;
    var f = readFilters();
    var activityUrl = apiUrl(API + '/places/' + encodeURIComponent(ref) + '/activity', activityParams(f));
    var fundersUrl = apiUrl(API + '/places/' + encodeURIComponent(ref) + '/funders', dateParams(f));
    var placeholder = panel.innerHTML;
    if (!quiet) panel.innerHTML = '<h3 id="story-heading">' + esc(place.name) + '</h3><p class="sub">Loading its story…</p>';
    panel.dataset.place = ref;
    panel.dataset.state = 'loading';
    if (moveFocus) panel.focus();
    try {
      var results = await Promise.all([getJSON(activityUrl), getJSON(fundersUrl)]);
      if (seq !== state.seq.story) return;
      panel.innerHTML = storyHtml(place, results[0], results[1], activityUrl, fundersUrl);
      panel.dataset.state = 'ready';
    } catch (error) {
      if (seq !== state.seq.story) return;
      if (quiet) { panel.innerHTML = placeholder; delete panel.dataset.place; delete panel.dataset.state; return; }
      panel.innerHTML = '<h3 id="story-heading">' + esc(place.name) + '</h3><p class="status error">' + esc(error.message) + '</p>';
      panel.dataset.state = 'error';
    }
  }

  function storyHtml(place, activity, funders, activityUrl, fundersUrl) {
    var ref = place.gss_code || place.slug;
    var html = place.level === 'uk'
      ? '<p class="sub">Hover over a place for its figures; click it, or its name in the table, for its story. ' +
        'Until then, the whole UK’s:</p>'
      : '';
    html += '<h3 id="story-heading">' + esc(place.name) + '</h3>' +
      '<p class="sub">' + (place.level === 'uk' ? '' : esc(LEVEL_LABELS[place.level] || '') + ' · ') + esc(place.gss_code || '') + '</p>';
    if (place.counts) {
      html += '<dl class="figures">' + [
        ['Records', counted(place)], ['Grants', place.counts.grants], ['Co-funding', place.counts.co_funding],
        ['Interest groups', place.counts.interest_groups], ['Research', place.counts.research],
        ['Engagements', place.counts.engagements], ['Organisations', place.counts.organisations]
      ].map(function (r) { return '<div><dt>' + r[0] + '</dt><dd>' + fmtNumber(r[1]) + '</dd></div>'; }).join('') + '</dl>';
    }

    html += '<h4>Who funds here</h4>';
    var f = readFilters();
    if (mapKinds(f).length || f.organisation) {
      // /funders takes the date filters only.
      html += '<p class="roles">All grants and contributions here, whatever the kind and organisation filters.</p>';
    }
    if (funders.funders.length) {
      html += '<ol class="funders">' + funders.funders.map(function (x) {
        var bits = [];
        if (x.grants) bits.push(fmtNumber(x.grants) + (x.grants === 1 ? ' grant' : ' grants') + (x.awarded.length ? ' (' + fmtMoneyList(x.awarded) + ')' : ''));
        if (x.contributions) bits.push(fmtNumber(x.contributions) + (x.contributions === 1 ? ' contribution' : ' contributions') + (x.contributed.length ? ' (' + fmtMoneyList(x.contributed) + ')' : ''));
        return '<li>' + orgLink(x.organisation) + ' <span class="roles">' + esc(bits.join(', ')) + '</span></li>';
      }).join('') + '</ol>';
    } else {
      html += '<p>No funding recorded here with these filters.</p>';
    }

    html += '<h4>What happens here</h4>';
    var any = false;
    Object.keys(RECORD_KINDS).forEach(function (kind) {
      var info = RECORD_KINDS[kind];
      var group = activity[info.group];
      if (!group || !group.total) return;
      any = true;
      html += '<h5>' + esc(info.plural) + ' (' + fmtNumber(group.total) + ')</h5>' +
        recordItems(kind, group, apiUrl(API + '/' + info.collection, { place: ref }));
    });
    if (!any) html += '<p>No collaboration records here with these filters.</p>';

    var orgs = activity.organisations;
    if (orgs && orgs.total) {
      html += '<h4>Organisations based here (' + fmtNumber(orgs.total) + ')</h4><ul>' + orgs.items.map(function (o) {
        return '<li>' + orgLink(o) + ' <span class="roles">' + esc(kindLabel(o.kind)) + '</span></li>';
      }).join('') + '</ul>';
      if (orgs.total > orgs.items.length) {
        html += '<p><small>and ' + fmtNumber(orgs.total - orgs.items.length) + ' more: <a href="' +
          esc(apiUrl(API + '/organisations', { place: ref })) + '">the full list (JSON)</a></small></p>';
      }
    }

    html += '<h4>The JSON</h4><p class="json-links">' +
      '<a href="' + API + '/places/' + encodeURIComponent(ref) + '">the place</a> · ' +
      '<a href="' + esc(activityUrl) + '">its activity</a> · ' +
      '<a href="' + esc(fundersUrl) + '">its funders</a></p>' +
      '<p><button type="button" class="secondary" data-action="place-network" data-ref="' + esc(ref) + '">' +
      'See the network in ' + esc(place.name) + '</button></p>';
    return html;
  }

  // ---- The network -------------------------------------------------------------------------------------------
  var NETWORK_STYLE = [
    { selector: 'node', style: {
      'background-color': 'data(colour)', 'shape': 'data(shape)', 'width': 'data(size)', 'height': 'data(size)',
      'border-width': 1, 'border-color': '#333333',
      'font-size': 10, 'color': '#1b1f24', 'text-valign': 'bottom', 'text-margin-y': 2,
      'text-outline-color': '#ffffff', 'text-outline-width': 2, 'text-max-width': 130, 'text-wrap': 'ellipsis'
    } },
    // Names of the most connected organisations always; the others' on hover, selection or a chain.
    { selector: 'node[?named], node.hover, node:selected, node.on-path', style: { 'label': 'data(label)', 'z-index': 5 } },
    { selector: 'edge', style: {
      'curve-style': 'straight', 'line-color': '#6e7781', 'opacity': 'data(opacity)', 'width': 'data(width)'
    } },
    { selector: 'edge.hover', style: { 'line-color': '#000000', 'opacity': 0.9 } },
    { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#000000' } },
    { selector: 'edge:selected', style: { 'line-color': '#000000', 'opacity': 1, 'z-index': 9 } },
    { selector: '.faded', style: { 'opacity': 0.12, 'text-opacity': 0.25 } },
    // The chain of a path query: thick, black and on top (black is not one of the kinds' colours).
    { selector: 'node.on-path', style: { 'border-width': 5, 'border-color': '#000000', 'opacity': 1, 'text-opacity': 1,
      'font-size': 12, 'font-weight': 'bold', 'z-index': 10 } },
    { selector: 'edge.on-path', style: { 'line-color': '#000000', 'opacity': 1, 'width': 6, 'z-index': 10 } }
  ];

  var RING = 8;  // how different two organisations' scores are before they go on different rings
  var LABEL_PX = 12;  // names are drawn this size on screen, whatever the zoom

  async function loadNetwork() {
    var f = readFilters();
    var problem = checkKinds(f, true);
    if (problem) { setStatus(problem, true); return; }
    var seq = ++state.seq.network;
    state.stale.network = false;
    document.body.dataset.networkState = 'loading';
    setStatus('Loading the network…');
    try {
      var data = await getJSON(API + '/network', networkParams(f));
      if (seq !== state.seq.network) return;
      state.network = data;
      drawNetwork(data);
      nodeTable.setRows(data.nodes);
      fillPathSelects(data.nodes);
      setStatus(data.truncated
        ? 'The strongest ' + fmtNumber(data.edges.length) + ' of ' + fmtNumber(data.total_edges) + ' links, joining ' +
          fmtNumber(data.nodes.length) + ' of ' + fmtNumber(data.total_nodes) + ' organisations (download the whole network below).'
        : fmtNumber(data.nodes.length) + ' organisations, ' + fmtNumber(data.edges.length) + ' links.');
      showNetworkSummary(data);
      document.body.dataset.networkState = 'ready';
    } catch (error) {
      if (seq !== state.seq.network) return;
      setStatus(error.message, true);
      document.body.dataset.networkState = 'error';
    }
  }

  // The links in the order of their ends' names (the nodes come by name), not strongest first as the API
  // gives them: the layout depends on the order it is given, and a network is drawn the same way whatever
  // page of it was asked for first.
  function byEnds(data) {
    var rank = new Map(data.nodes.map(function (n, index) { return [n.id, index]; }));
    return data.edges.slice().sort(function (x, y) {
      return rank.get(x.source) - rank.get(y.source) || rank.get(x.target) - rank.get(y.target);
    });
  }

  function drawNetwork(data) {
    var maxCentrality = data.nodes.reduce(function (m, n) { return Math.max(m, n.centrality || 0); }, 0);
    var maxWeight = data.edges.reduce(function (m, e) { return Math.max(m, e.weight); }, 1);
    state.nodes = new Map(data.nodes.map(function (n) { return [n.id, n]; }));
    state.edges = new Map(data.edges.map(function (e) { return [edgeKey(e.source, e.target), e]; }));
    // The most central organisations, then the strongest linked, are named; the rest on hover.
    var named = new Set(data.nodes.slice().sort(function (a, b) {
      return (b.centrality || 0) - (a.centrality || 0) || b.strength - a.strength;
    }).slice(0, 8).map(function (n) { return n.id; }));
    var elements = data.nodes.map(function (n, index) {
      var fam = family(n.kind);
      // Size by betweenness centrality (area grows with it); the smallest stay easy to click.
      var size = 16 + (maxCentrality > 0 ? 54 * Math.sqrt((n.centrality || 0) / maxCentrality) : 0);
      // Start on a circle, so that no two nodes coincide before the layout has run.
      var angle = 2 * Math.PI * index / data.nodes.length;
      // Rings by centrality, then by strength (in steps of RING); around each ring, kinds together.
      var ring = Math.floor(((n.centrality || 0) * 1000 + n.strength) / RING) * RING;
      return { group: 'nodes', position: { x: 500 * Math.cos(angle), y: 500 * Math.sin(angle) },
        data: { id: n.id, label: n.name, colour: fam.colour, shape: fam.shape, size: size, named: named.has(n.id),
          order: ring + (FAMILIES.length - FAMILIES.indexOf(fam)) * RING / (FAMILIES.length + 2) } };
    }).concat(byEnds(data).map(function (e) {
      var share = e.weight / maxWeight;
      return { group: 'edges', data: { id: edgeKey(e.source, e.target), source: e.source, target: e.target,
        width: 1 + 5 * share, opacity: 0.18 + 0.6 * share } };
    }));
    drawNetworkLegend();  // first: the legend's height sets the drawing's
    if (!cy) {
      cy = cytoscape({ container: $('#cy'), elements: elements, style: NETWORK_STYLE, layout: { name: 'preset' },
        minZoom: 0.15, maxZoom: 4, boxSelectionEnabled: false, selectionType: 'single' });
      cy.on('tap', 'node', function (event) { selectNode(event.target.id(), false); });
      cy.on('tap', 'edge', function (event) { showEdge(event.target.id()); });
      // Keep names readable whatever the zoom: a font size in model units is divided by the zoom.
      cy.on('zoom', scaleLabels);
      cy.on('mouseover', 'node, edge', function (event) { event.target.addClass('hover'); $('#cy').style.cursor = 'pointer'; });
      cy.on('mouseout', 'node, edge', function (event) { event.target.removeClass('hover'); $('#cy').style.cursor = ''; });
    } else {
      cy.elements().remove();
      cy.add(elements);
    }
    cy.resize();
    runLayout();
    scaleLabels();
  }

  function scaleLabels() {
    var size = LABEL_PX / cy.zoom();
    cy.style().selector('node').style({ 'font-size': size, 'text-max-width': 160 / cy.zoom(),
      'text-outline-width': 2 / cy.zoom() }).update();
  }

  // Force-directed (the default) starts from the rings, not from random places, so that the same network is
  // always drawn the same way.
  function runLayout() {
    if (!cy) return;
    var rings = {
      name: 'concentric', animate: false, fit: true, padding: 40, minNodeSpacing: 14,
      concentric: function (node) { return node.data('order'); },
      levelWidth: function () { return RING; }
    };
    cy.layout(rings).run();
    if ($('#layout').value === 'cose') {
      cy.layout({
        name: 'cose', animate: false, randomize: false, fit: true, padding: 40, nodeOverlap: 40,
        // Strong repulsion and long ideal edges, or a large group (the seed's 49 organisations in one
        // engagement) collapses into a pile.
        nodeRepulsion: function () { return 1000000; },
        idealEdgeLength: function () { return 140; },
        edgeElasticity: function () { return 50; }
      }).run();
    }
  }

  function drawNetworkLegend() {
    var present = new Set((state.network ? state.network.nodes : []).map(function (n) { return family(n.kind).key; }));
    $('#network-legend').innerHTML = '<h4>Kinds:</h4><ul>' + FAMILIES.filter(function (f) {
      return present.has(f.key);
    }).map(function (f) {
      return '<li>' + glyph(f.shape, f.colour) + esc(f.label) + '</li>';
    }).join('') + '</ul><p>Larger: more central. Darker, thicker links: stronger links (weight).</p>';
  }

  function fillPathSelects(nodes) {
    var sorted = nodes.slice().sort(function (a, b) { return a.name.localeCompare(b.name, 'en-GB'); });
    ['#path-from', '#path-to'].forEach(function (selector) {
      var select = $(selector);
      var keep = select.value;
      select.innerHTML = '<option value="">Choose an organisation</option>' + sorted.map(function (n) {
        return '<option value="' + esc(n.slug) + '">' + esc(n.name) + '</option>';
      }).join('');
      if (keep && sorted.some(function (n) { return n.slug === keep; })) select.value = keep;
    });
  }

  function evidenceHtml(evidence, sourceName, targetName) {
    return '<ul>' + evidence.map(function (item) {
      return '<li><span class="roles">' + esc(RECORD_KINDS[item.kind].label) + ':</span> ' + recordLink(item.kind, item.record) +
        '<br><small>' + esc(sourceName) + ' <span class="roles">(' + esc(roles(item.roles.source)) + ')</span>; ' +
        esc(targetName) + ' <span class="roles">(' + esc(roles(item.roles.target)) + ')</span></small></li>';
    }).join('') + '</ul>';
  }

  // Until something is chosen, the panel names the most central organisations, as a way in.
  function showNetworkSummary(data) {
    var panel = $('#detail');
    delete panel.dataset.node;
    delete panel.dataset.edge;
    var top = data.nodes.slice().sort(function (a, b) {
      return (b.centrality || 0) - (a.centrality || 0) || b.strength - a.strength || a.name.localeCompare(b.name, 'en-GB');
    }).slice(0, 8);
    panel.innerHTML = '<h3 id="detail-heading">Organisations and links</h3>' +
      '<p>Click an organisation for what it takes part in, or a link between two for the records they share. ' +
      'Ask how two organisations are connected with the controls.</p>' +
      (top.length ? '<h4>Most central</h4><ol>' + top.map(function (n) {
        return '<li><button type="button" class="link" data-action="node" data-node="' + esc(n.id) + '">' + esc(n.name) +
          '</button> <span class="roles">' + esc(kindLabel(n.kind)) + ', linked to ' + fmtNumber(n.degree) + '</span></li>';
      }).join('') + '</ol>' : '<p>No organisations share a record with these filters.</p>') +
      '<p class="json-links">JSON: <a href="' + esc(apiUrl(API + '/network', networkParams(readFilters()))) + '">this network</a> · ' +
      '<a href="' + esc(apiUrl(API + '/network', Object.assign({ format: 'graphml' }, networkParams(readFilters())))) + '">the whole network as GraphML</a> · ' +
      '<a href="' + esc(apiUrl(API + '/network', Object.assign({ format: 'csv' }, networkParams(readFilters())))) + '">its links as CSV</a></p>';
  }

  // The network gives each link's records counted by kind; the records themselves are loaded when the link
  // is opened, from /v1/network/links, with the same filters.
  var EVIDENCE_PAGE = 200;
  function linkParams(edge) {
    var f = readFilters();
    return Object.assign({ between: edge.source + ',' + edge.target, kind: collaborationKinds(f), place: f.place }, dateParams(f));
  }
  async function showEdge(key) {
    var edge = state.edges.get(key);
    if (!edge) return;
    var a = state.nodes.get(edge.source);
    var b = state.nodes.get(edge.target);
    cy.elements().unselect();
    cy.getElementById(key).select();
    var panel = $('#detail');
    panel.dataset.edge = key;
    delete panel.dataset.evidence;
    var url = apiUrl(API + '/network/links', linkParams(edge));
    var kinds = Object.keys(edge.kinds).map(function (kind) {
      return fmtNumber(edge.kinds[kind]) + ' ' + esc(edge.kinds[kind] === 1 ? RECORD_KINDS[kind].label.toLowerCase() : RECORD_KINDS[kind].plural.toLowerCase());
    }).join(', ');
    panel.innerHTML = '<h3 id="detail-heading">' + esc(a.name) + ' and ' + esc(b.name) + '</h3>' +
      '<p class="sub">Share ' + recordCount(edge.records) + ' (weight ' + fmtWeight(edge.weight) + '): ' + kinds + '.</p>' +
      '<div class="evidence"><p class="sub">Loading the records…</p></div>' +
      '<p class="json-links">JSON: <a href="' + esc(url) + '">these records</a> · ' + orgLinkJson(a) + ' · ' + orgLinkJson(b) + '</p>';
    var seq = ++state.seq.detail;
    try {
      var page = await getJSON(API + '/network/links', Object.assign({ limit: EVIDENCE_PAGE }, linkParams(edge)));
      if (seq !== state.seq.detail) return;
      panel.querySelector('.evidence').innerHTML = evidenceHtml(page.evidence, a.name, b.name) +
        (page.next_cursor ? '<p>The first ' + fmtNumber(page.evidence.length) + ' of ' + recordCount(page.records) + ': see the JSON for the rest.</p>' : '');
      panel.dataset.evidence = 'ready';
    } catch (error) {
      if (seq !== state.seq.detail) return;
      panel.querySelector('.evidence').innerHTML = '<p class="status error">' + esc(error.message) + '</p>';
      panel.dataset.evidence = 'error';
    }
  }
  function orgLinkJson(org) {
    return '<a href="' + API + '/organisations/' + encodeURIComponent(org.slug) + '/collaborators">' + esc(org.name) + '’s collaborators</a>';
  }

  async function selectNode(id, fromTable) {
    var node = state.nodes.get(id);
    if (!node || !cy) return;
    cy.elements().unselect();
    var element = cy.getElementById(id);
    element.select();
    if (fromTable) cy.animate({ center: { eles: element }, duration: 0 });
    var links = Array.from(state.edges.values()).filter(function (e) { return e.source === id || e.target === id; })
      .sort(function (x, y) { return y.weight - x.weight; });
    var fam = family(node.kind);
    var panel = $('#detail');
    panel.dataset.node = id;
    var orgUrl = API + '/organisations/' + encodeURIComponent(node.slug);
    panel.innerHTML = '<h3 id="detail-heading">' + esc(node.name) + '</h3>' +
      '<p class="sub">' + glyph(fam.shape, fam.colour) + ' ' + esc(kindLabel(node.kind)) + '</p>' +
      '<dl class="figures"><div><dt>Linked to</dt><dd>' + fmtNumber(node.degree) + '</dd></div>' +
      '<div><dt>Strength</dt><dd>' + fmtWeight(node.strength) + '</dd></div>' +
      '<div><dt>Centrality</dt><dd>' + node.centrality.toFixed(3) + '</dd></div></dl>' +
      '<p><button type="button" class="secondary" data-action="org-map" data-slug="' + esc(node.slug) + '">Show its records on the map</button></p>' +
      '<h4>Its links (' + fmtNumber(links.length) + ')</h4><ul class="links">' + links.slice(0, 80).map(function (e) {
        var other = state.nodes.get(e.source === id ? e.target : e.source);
        return '<li><button type="button" class="link" data-action="edge" data-edge="' + edgeKey(e.source, e.target) + '">' +
          esc(other.name) + '</button> <span class="roles">' + recordCount(e.records) + '</span></li>';
      }).join('') + '</ul>' +
      '<div class="activity"><p class="sub">Loading what it takes part in…</p></div>' +
      '<p class="json-links">JSON: <a href="' + orgUrl + '">the organisation</a> · <a href="' + orgUrl +
      '/activity">its activity</a> · <a href="' + orgUrl + '/collaborators">its collaborators</a></p>';
    if (fromTable) panel.focus();
    var seq = ++state.seq.detail;
    try {
      var f = readFilters();
      var activity = await getJSON(orgUrl + '/activity', Object.assign({ kind: collaborationKinds(f), limit: 25 }, dateParams(f)));
      if (seq !== state.seq.detail) return;
      var html = '<h4>What it takes part in</h4>';
      var any = false;
      Object.keys(RECORD_KINDS).forEach(function (kind) {
        var group = activity[RECORD_KINDS[kind].group];
        if (!group || !group.total) return;
        any = true;
        html += '<h5>' + esc(RECORD_KINDS[kind].plural) + ' (' + fmtNumber(group.total) + ')</h5><ul>' + group.items.map(function (r) {
          return '<li>' + recordLink(kind, r) + ' <span class="roles">(' + esc(roles(r.roles)) + ')</span></li>';
        }).join('') + '</ul>';
      });
      panel.querySelector('.activity').innerHTML = any ? html : '<p>No records with these filters.</p>';
    } catch (error) {
      if (seq === state.seq.detail) panel.querySelector('.activity').innerHTML = '<p class="status error">' + esc(error.message) + '</p>';
    }
  }

  // "How are these two connected?": /v1/network/path, then the chain highlighted in the drawing.
  async function findPath(from, to) {
    var panel = $('#detail');
    panel.innerHTML = '<h3 id="detail-heading">How are they connected?</h3><div id="path-result"></div>';
    var result = $('#path-result');
    var f = readFilters();
    var url = apiUrl(API + '/network/path', { from: from, to: to, kind: collaborationKinds(f), place: f.place, active_on: f.active_on });
    var seq = ++state.seq.path;
    result.innerHTML = '<p>Looking for the shortest chain…</p>';
    try {
      var path = await getJSON(url);
      if (seq !== state.seq.path) return;
      highlightChain(path);
      var names = [path.from.name].concat(path.hops.map(function (h) { return h.target.name; }));
      var html = '<p class="chain">' + names.map(esc).join(' → ') + '</p>';
      if (!path.length) {
        html += '<p>That is the same organisation.</p>';
      } else {
        html += '<p>' + fmtNumber(path.length) + (path.length === 1 ? ' step' : ' steps') + ':</p><ol class="hops">' + path.hops.map(function (h) {
          return '<li><strong>' + esc(h.source.name) + '</strong> and <strong>' + esc(h.target.name) + '</strong> share ' +
            recordCount(h.records) + evidenceHtml(h.evidence, h.source.name, h.target.name) + '</li>';
        }).join('') + '</ol>';
      }
      result.innerHTML = html + '<p class="json-links"><a href="' + esc(url) + '">This chain as JSON</a></p>';
      result.dataset.state = 'ready';
    } catch (error) {
      if (seq !== state.seq.path) return;
      clearChain();
      result.innerHTML = '<p class="status error">' + esc(error.status === 404 ? 'No chain of collaborations joins them with these filters.' : error.message) + '</p>';
      result.dataset.state = 'error';
    }
  }

  function highlightChain(path) {
    if (!cy) return;
    cy.elements().removeClass('on-path').addClass('faded');
    var ids = [path.from.id].concat(path.hops.map(function (h) { return h.target.id; }));
    ids.forEach(function (id) { cy.getElementById(id).removeClass('faded').addClass('on-path'); });
    path.hops.forEach(function (h) {
      cy.getElementById(edgeKey(h.source.id, h.target.id)).removeClass('faded').addClass('on-path');
    });
  }
  function clearChain() {
    if (cy) cy.elements().removeClass('on-path faded');
  }

  // ---- Views, controls and start-up ---------------------------------------------------------------------------
  function viewFromHash() { return location.hash === '#network' ? 'network' : 'map'; }

  function showView(view) {
    state.view = view;
    document.body.dataset.view = view;
    $('#map-view').hidden = view !== 'map';
    $('#map-controls').hidden = view !== 'map';
    $('#network-view').hidden = view !== 'network';
    $('#network-controls').hidden = view !== 'network';
    $('#tab-map').removeAttribute('aria-current');
    $('#tab-network').removeAttribute('aria-current');
    if (view === 'map') $('#tab-map').setAttribute('aria-current', 'page');
    else $('#tab-network').setAttribute('aria-current', 'page');
    document.title = (view === 'map' ? 'Map' : 'Network') + ' · Placenet';
    if (view === 'map') {
      map.invalidateSize();  // the container may have been hidden while the window changed
      if (state.stale.map) loadMap();
    } else {
      // Cytoscape lays out in its container's size: draw only once the container is shown.
      if (state.stale.network) loadNetwork();
      else if (cy) { cy.resize(); cy.fit(undefined, 40); }
    }
  }

  function applyFilters() {
    state.refreshStory = true;
    state.stale.map = true;
    state.stale.network = true;
    clearChain();
    if ($('#path-result')) $('#path-result').innerHTML = '';
    if (state.view === 'map') loadMap(); else loadNetwork();
  }

  async function fillOrganisations() {
    try {
      var data = await getJSON(API + '/network');
      var select = $('#f-organisation');
      data.nodes.slice().sort(function (a, b) { return a.name.localeCompare(b.name, 'en-GB'); }).forEach(function (n) {
        var option = document.createElement('option');
        option.value = n.slug;
        option.textContent = n.name;
        select.appendChild(option);
      });
    } catch (error) {
      setStatus('The list of organisations could not be loaded: ' + error.message, true);
    }
  }

  function wireControls() {
    $('#filters').addEventListener('submit', function (event) { event.preventDefault(); applyFilters(); });
    // The reset event comes before the fields are reset: apply once they are.
    $('#filters').addEventListener('reset', function () { setTimeout(applyFilters, 0); });
    $('#level').addEventListener('change', function (event) {
      state.level = event.target.value;
      state.selectedPlace = null;
      loadMap();
    });
    $('#measure').addEventListener('change', function (event) {
      state.measure = event.target.value;
      restyle();
    });
    $('#with-records').addEventListener('change', function (event) {
      state.withRecords = event.target.checked;
      loadMap();
    });
    $('#find-place').addEventListener('change', function (event) {
      var text = event.target.value.trim().toLowerCase();
      if (!text || !state.mapData) return;
      var found = state.mapData.features.find(function (x) {
        return x.properties.name.toLowerCase() === text || String(x.properties.gss_code || '').toLowerCase() === text;
      }) || state.mapData.features.find(function (x) { return x.properties.name.toLowerCase().indexOf(text) >= 0; });
      if (found) focusPlace(found, true);
      else setStatus('No place at this level is called “' + event.target.value + '”.', true);
    });
    $('#layout').addEventListener('change', runLayout);
    $('#path-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var from = $('#path-from').value;
      var to = $('#path-to').value;
      if (from && to) findPath(from, to);
    });
    $('#path-clear').addEventListener('click', function () {
      clearChain();
      if ($('#path-result')) $('#path-result').innerHTML = '';
    });
    // Buttons drawn inside the panels.
    document.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-action]');
      if (!button) return;
      var action = button.getAttribute('data-action');
      if (action === 'edge') showEdge(button.getAttribute('data-edge'));
      if (action === 'node') selectNode(button.getAttribute('data-node'), true);
      if (action === 'place-network') {
        $('#f-place').value = button.getAttribute('data-ref');
        state.stale.map = state.stale.network = state.refreshStory = true;
        location.hash = '#network';
      }
      if (action === 'org-map') {
        $('#f-organisation').value = button.getAttribute('data-slug');
        state.stale.map = state.stale.network = state.refreshStory = true;
        location.hash = '#map';
      }
    });
    window.addEventListener('hashchange', function () { showView(viewFromHash()); });
  }

  async function start() {
    // For the browser tests and anyone curious in the console.
    window.placenet = { state: state, get map() { return map; }, get cy() { return cy; } };
    // On a phone the filters start folded, so that the drawing is near the top.
    if (window.matchMedia('(max-width: 900px)').matches) $('#filters-box').open = false;
    makeTables();
    initMap();
    wireControls();
    await fillOrganisations();
    showView(viewFromHash());
    // Until a place is chosen, the story panel tells the whole UK's.
    openStory({ name: 'United Kingdom', gss_code: 'K02000001', slug: 'united-kingdom', level: 'uk' }, false, true);
  }

  start();
}());
