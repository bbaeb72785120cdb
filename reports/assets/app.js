// unsub-recon report page. Runs under a Content-Security-Policy that allows only this script (by
// hash) and requires Trusted Types, so the page is built with createElement and textContent: no
// HTML string is ever parsed, and every value from a provider stays text. The data arrives as
// JSON in <script type="application/json"> blocks; the evidence blocks come after this script
// and one is parsed only when an address in it is opened, so the first render never waits.
(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PAGE_SIZES = [50, 100, 250, 1000];
  const numberFormat = new Intl.NumberFormat('en-US');
  const pctFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

  const data = JSON.parse(document.getElementById('report-data').textContent);
  const accounts = data.accounts;
  const kinds = data.kinds;
  const evidenceBlocks = new Map();

  /**
   * The holders of discrepant address `index` and the shared index (runs, requests), parsing
   * only the one evidence block that holds it; undefined while the page is still loading it.
   */
  function evidenceFor(index) {
    const block = (id) => {
      if (!evidenceBlocks.has(id)) {
        const element = document.getElementById(id);
        if (element === null) return undefined;
        evidenceBlocks.set(id, JSON.parse(element.textContent));
      }
      return evidenceBlocks.get(id);
    };
    const shared = block('report-evidence-index');
    const entries = block(`report-evidence-${Math.floor(index / data.evidenceChunk)}`);
    if (shared === undefined || entries === undefined) return undefined;
    return {
      runs: shared.runs,
      requests: shared.requests,
      holders: entries[index % data.evidenceChunk] || [],
    };
  }

  // --- DOM helpers: every value goes through textContent or a plain attribute. ---

  function h(tag, props, children) {
    const node = document.createElement(tag);
    applyProps(node, props);
    appendAll(node, children);
    return node;
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    appendAll(node, children);
    return node;
  }

  function applyProps(node, props) {
    if (!props) return;
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'className') node.className = value;
      else if (name === 'hidden') node.hidden = true;
      else if (name === 'onClick') node.addEventListener('click', value);
      else node.setAttribute(name, String(value));
    }
  }

  /** Appends nodes and strings (as text), flattening nested arrays and skipping empty values. */
  function appendAll(node, children) {
    if (children === undefined || children === null || children === false) return;
    if (Array.isArray(children)) {
      for (const child of children) appendAll(node, child);
      return;
    }
    node.append(children instanceof Node ? children : String(children));
  }

  const fmt = (n) => (n === null || n === undefined ? '' : numberFormat.format(n));
  const when = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
  const accountName = (i) => accounts[i];
  const accountList = (list) => list.map(accountName).join(', ');

  function badge(text, className) {
    return h('span', { className: `badge ${className}`, text });
  }

  // --- header, banners, tabs ---

  function renderMeta() {
    const meta = data.meta;
    const run = meta.transformRun;
    const rows = [
      ['Report run', meta.reportRunId],
      ['Generated', when(meta.generatedAt)],
      [
        'Reports on',
        `${run.command} run ${run.runId} (${run.status}, finished ${when(run.finishedAt)})` +
          (run.allowIncomplete ? ', with --allow-incomplete' : ''),
      ],
      ['Groups', meta.groupFilter === null ? 'all configured groups' : `only ${meta.groupFilter}`],
      ['Warehouse', meta.warehouse],
    ];
    const list = document.getElementById('meta');
    for (const [term, value] of rows) list.append(h('dt', { text: term }), h('dd', { text: value }));
  }

  /**
   * When the page holds only the first rows of a table (`discrepancies` or `rejects`): what it
   * shows and where the rest are; null when it holds them all.
   */
  function truncation(table) {
    const shown = data[table].length;
    const total = data.totals[table];
    if (shown >= total) return null;
    const noun = table === 'discrepancies' ? 'discrepancies' : 'rejected raw values';
    return `This page shows the first ${fmt(shown)} of ${fmt(total)} ${noun}; ${table}.csv beside this file holds all of them.`;
  }

  /** The truncation as a banner (top of the page, every view) or a notice (atop its table's view). */
  function truncationNotice(table, where) {
    const text = truncation(table);
    if (text === null) return null;
    const props =
      where === 'banner'
        ? { className: 'banner warning', role: 'status', 'data-banner': `truncated-${table}` }
        : { className: 'notice', 'data-notice': `truncated-${table}` };
    return h('div', props, [
      h('strong', { text }),
      table === 'discrepancies'
        ? 'They are the first rows of the CSV (by group, kind and address). The counts, charts and per-pair tables count every discrepancy; search, filters and sorting here see only the rows on this page. unsub-recon report --group ID writes a page of one group.'
        : 'They are the first rows of the CSV (by account, reason and raw value); search, filters and sorting here see only these rows.',
    ]);
  }

  function renderBanners() {
    const box = document.getElementById('banners');
    for (const table of ['discrepancies', 'rejects']) {
      const notice = truncationNotice(table, 'banner');
      if (notice !== null) box.append(notice);
    }
    for (const group of data.groups) {
      if (group.allowedIncomplete) {
        box.append(
          h('div', { className: 'banner warning', role: 'alert', 'data-banner': 'allow-incomplete' }, [
            h('strong', {
              text: `Group ${group.id} was diffed with --allow-incomplete: ${accountList(group.incomplete)} had an incomplete extraction.`,
            }),
            'Its discrepancies may include addresses that are only missing because they were not read, and miss others. ',
            group.detail ? h('span', { className: 'mono', text: group.detail }) : null,
          ]),
        );
      } else if (!group.diffed) {
        box.append(
          h('div', { className: 'banner', role: 'status', 'data-banner': 'not-diffed' }, [
            h('strong', {
              text: `Group ${group.id} was not diffed: a member's latest extraction is incomplete.`,
            }),
            group.detail ? h('span', { className: 'mono', text: group.detail }) : null,
          ]),
        );
      }
    }
  }

  const views = [];

  function addView(id, label, build) {
    const button = h('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${id}`,
      'aria-controls': `view-${id}`,
      'aria-selected': 'false',
      text: label,
    });
    const section = h('section', {
      className: 'view',
      id: `view-${id}`,
      role: 'tabpanel',
      'aria-labelledby': `tab-${id}`,
      hidden: true,
    });
    build(section);
    button.addEventListener('click', () => showView(id));
    document.getElementById('tabs').append(button);
    document.getElementById('views').append(section);
    views.push({ id, button, section });
  }

  function showView(id) {
    for (const view of views) {
      const active = view.id === id;
      view.section.hidden = !active;
      view.button.setAttribute('aria-selected', String(active));
    }
  }

  // --- summary ---

  function buildSummary(section) {
    section.append(h('h2', { text: 'Summary' }));
    section.append(
      h('p', {
        text: `${fmt(data.totals.discrepancies)} discrepancies in ${data.groups.length} group(s); ${fmt(data.totals.rejects)} rejected raw values.`,
      }),
    );
    const cards = h('div', { className: 'cards' });
    for (const group of data.groups) cards.append(groupCard(group));
    section.append(cards);
  }

  function groupCard(group) {
    const card = h('article', { className: 'card', 'data-group': group.id }, [
      h('h2', { text: group.id }),
      h('p', { className: 'muted' }, [
        `${group.policy} of ${accountList(group.members)}`,
        group.policy === 'mirror' ? ` (source ${group.source})` : '',
        ' · ',
        group.diffed
          ? group.allowedIncomplete
            ? badge('diffed with --allow-incomplete', 'bad')
            : badge('diffed', 'ok')
          : badge('not diffed', 'bad'),
      ]),
    ]);
    if (!group.diffed) {
      card.append(h('p', { text: group.detail || 'A member has no complete extraction.' }));
      return card;
    }
    const figures = h('div', { className: 'figures' }, [figure('total', 'discrepancies', group.total)]);
    for (const kind of group.kinds) figures.append(figure(`kind-${kind}`, kind, group.byKind[kind] || 0));
    card.append(figures);
    for (const kind of group.kinds) card.append(barChart(group, kind));
    card.append(pairTable(group));
    return card;
  }

  function figure(name, label, value) {
    return h('div', { className: 'figure', 'data-figure': name }, [
      h('span', { className: 'value', text: fmt(value) }),
      h('span', { className: 'label', text: label }),
    ]);
  }

  /** Horizontal bars per member: addresses it lacks, and addresses it holds that another member lacks. */
  function barChart(group, kindName) {
    const kind = kinds.indexOf(kindName);
    const bars = group.bars.filter((b) => b[0] === kind);
    const max = Math.max(1, ...bars.flatMap((b) => [b[2], b[3]]));
    const labelWidth = 130;
    const plotWidth = 380;
    const valueWidth = 70;
    const rowHeight = 38;
    const width = labelWidth + plotWidth + valueWidth;
    const height = bars.length * rowHeight + 8;
    const title = `${group.id}: ${kindName} discrepancies per account`;
    const chart = svg('svg', {
      class: 'chart',
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': title,
      'data-kind': kindName,
    });
    chart.append(svg('title', {}, [title]));
    bars.forEach(([, account, missingHere, heldHere], i) => {
      const y = i * rowHeight + 4;
      const row = svg('g', { 'data-account': accountName(account) });
      row.append(svg('text', { x: 0, y: y + 21 }, [accountName(account)]));
      const parts = [
        ['bar-missing', missingHere, `lacks ${fmt(missingHere)}`],
        ['bar-held', heldHere, `holds ${fmt(heldHere)} others lack`],
      ];
      parts.forEach(([className, value, text], j) => {
        const barY = y + j * 15;
        const w = Math.max(value > 0 ? 1 : 0, Math.round((value / max) * plotWidth));
        row.append(
          svg(
            'rect',
            { class: className, x: labelWidth, y: barY, width: w, height: 13, 'data-value': value },
            [svg('title', {}, [`${accountName(account)} ${text}`])],
          ),
        );
        row.append(svg('text', { x: labelWidth + w + 4, y: barY + 11 }, [fmt(value)]));
      });
      chart.append(row);
    });
    chart.append(svg('line', { class: 'axis', x1: labelWidth, x2: labelWidth, y1: 0, y2: height }));
    return h('figure', {}, [
      h('figcaption', { text: kindName === 'extra' ? 'extra (source lacks them)' : kindName }),
      h('div', { className: 'legend' }, [
        h('span', {}, [h('span', { className: 'swatch missing' }), 'lacks the address']),
        h('span', {}, [h('span', { className: 'swatch held' }), 'holds it, another member lacks it']),
      ]),
      chart,
    ]);
  }

  function pairTable(group) {
    const body = h('tbody');
    for (const [kind, present, missing, addresses, presentTotal, pct] of group.pairs) {
      body.append(
        h('tr', {}, [
          h('td', { text: kinds[kind] }),
          h('td', { text: accountName(present) }),
          h('td', { text: accountName(missing) }),
          h('td', { className: 'num', text: fmt(addresses) }),
          h('td', { className: 'num', text: `${pctFormat.format(pct)} % of ${fmt(presentTotal)}` }),
        ]),
      );
    }
    return h('details', {}, [
      h('summary', { text: 'Per account pair' }),
      h('div', { className: 'table-wrap' }, [
        h('table', {}, [
          h('thead', {}, [
            h('tr', {}, [
              h('th', { scope: 'col', text: 'kind' }),
              h('th', { scope: 'col', text: 'holder' }),
              h('th', { scope: 'col', text: 'lacks it' }),
              h('th', { scope: 'col', className: 'num', text: 'addresses' }),
              h('th', { scope: 'col', className: 'num', text: "share of holder's list" }),
            ]),
          ]),
          body,
        ]),
      ]),
    ]);
  }

  // --- a searchable, filterable, sortable, paged table over many rows ---

  /**
   * options: id, label (plural noun), rows, columns [{label, sortKey(row), cell(row) → Node|string,
   * className}], haystack(row) → lower-case text searched, searchLabel, filters [{id, label,
   * options [[value, label]], test(row, value)}], defaultSort {column, direction}.
   * Sorting builds an index order once per click; searching and filtering scan that order, so a
   * keystroke costs one pass over the rows and rendering one page.
   */
  function dataTable(options) {
    const rows = options.rows;
    const total = rows.length;
    const haystack = rows.map(options.haystack);
    let order = Int32Array.from({ length: total }, (_, i) => i);
    let matches = order;
    let matchCount = total;
    let page = 0;
    let pageSize = 100;
    let sort = options.defaultSort || null;
    const filterValues = new Map();
    let query = '';

    const root = h('div', { className: 'data-table', id: options.id });
    const controls = h('div', { className: 'controls' });
    const search = h('input', {
      type: 'search',
      id: `${options.id}-search`,
      placeholder: options.searchLabel,
      'aria-label': options.searchLabel,
      autocomplete: 'off',
      spellcheck: 'false',
    });
    search.addEventListener('input', () => {
      query = search.value.normalize('NFC').trim().toLowerCase();
      refilter();
    });
    controls.append(h('label', {}, [options.searchLabel, search]));
    for (const filter of options.filters) {
      const select = h('select', { id: `${options.id}-filter-${filter.id}` }, [
        h('option', { value: '', text: 'all' }),
      ]);
      for (const [value, label] of filter.options) select.append(h('option', { value, text: label }));
      select.addEventListener('change', () => {
        if (select.value === '') filterValues.delete(filter);
        else filterValues.set(filter, select.value);
        refilter();
      });
      controls.append(h('label', {}, [filter.label, select]));
    }
    const sizeSelect = h('select', { id: `${options.id}-page-size` });
    for (const size of PAGE_SIZES) {
      sizeSelect.append(
        h('option', { value: String(size), text: String(size), selected: size === pageSize }),
      );
    }
    sizeSelect.addEventListener('change', () => {
      pageSize = Number(sizeSelect.value);
      page = 0;
      renderPage();
    });
    controls.append(h('label', {}, ['rows per page', sizeSelect]));

    const count = h('p', { className: 'count', id: `${options.id}-count`, 'aria-live': 'polite' });
    const headRow = h('tr');
    const headers = options.columns.map((column, index) => {
      const button = h('button', { type: 'button', className: 'sort', text: column.label });
      button.addEventListener('click', () => {
        const direction =
          sort && sort.column === index && sort.direction === 'ascending' ? 'descending' : 'ascending';
        sort = { column: index, direction };
        resort();
      });
      const th = h('th', { scope: 'col', className: column.className, 'data-column': column.label }, [
        button,
      ]);
      headRow.append(th);
      return th;
    });
    const body = h('tbody');
    const table = h('table', {}, [
      h('caption', { className: 'muted', text: options.caption }),
      h('thead', {}, [headRow]),
      body,
    ]);
    const previous = h('button', { type: 'button', id: `${options.id}-prev`, text: '‹ Previous' });
    const next = h('button', { type: 'button', id: `${options.id}-next`, text: 'Next ›' });
    const pageLabel = h('span', { id: `${options.id}-page` });
    previous.addEventListener('click', () => {
      page = Math.max(0, page - 1);
      renderPage();
    });
    next.addEventListener('click', () => {
      page = Math.min(lastPage(), page + 1);
      renderPage();
    });
    root.append(
      controls,
      count,
      h('div', { className: 'table-wrap' }, [table]),
      h('nav', { className: 'pager', 'aria-label': `${options.label} pages` }, [previous, pageLabel, next]),
    );

    function lastPage() {
      return Math.max(0, Math.ceil(matchCount / pageSize) - 1);
    }

    function resort() {
      headers.forEach((th, index) => {
        if (sort && sort.column === index) th.setAttribute('aria-sort', sort.direction);
        else th.removeAttribute('aria-sort');
      });
      if (sort) {
        const keyOf = options.columns[sort.column].sortKey;
        const keys = rows.map(keyOf);
        const sign = sort.direction === 'ascending' ? 1 : -1;
        const next = Int32Array.from({ length: total }, (_, i) => i);
        // Empty values sort last in both directions; ties keep the data's own order.
        next.sort((a, b) => {
          const x = keys[a];
          const y = keys[b];
          if (x === y) return a - b;
          if (x === null || x === undefined || x === '') return 1;
          if (y === null || y === undefined || y === '') return -1;
          return (x < y ? -1 : 1) * sign;
        });
        order = next;
      }
      refilter();
    }

    function refilter() {
      const active = [...filterValues.entries()];
      if (query === '' && active.length === 0) {
        matches = order;
        matchCount = total;
      } else {
        const out = new Int32Array(total);
        let n = 0;
        for (let k = 0; k < total; k++) {
          const i = order[k];
          if (query !== '' && !haystack[i].includes(query)) continue;
          let keep = true;
          for (const [filter, value] of active) {
            if (!filter.test(rows[i], value)) {
              keep = false;
              break;
            }
          }
          if (keep) out[n++] = i;
        }
        matches = out;
        matchCount = n;
      }
      page = 0;
      renderPage();
    }

    function renderPage() {
      page = Math.min(page, lastPage());
      const start = page * pageSize;
      const end = Math.min(matchCount, start + pageSize);
      const fragment = document.createDocumentFragment();
      for (let k = start; k < end; k++) {
        const row = rows[matches[k]];
        const tr = h('tr');
        for (const column of options.columns) {
          const td = h('td', { className: column.className });
          appendAll(td, column.cell(row));
          tr.append(td);
        }
        fragment.append(tr);
      }
      body.replaceChildren(fragment);
      count.textContent =
        matchCount === total
          ? `${fmt(total)} ${options.label}`
          : `${fmt(matchCount)} of ${fmt(total)} ${options.label} match`;
      count.dataset.matches = String(matchCount);
      count.dataset.total = String(total);
      pageLabel.textContent =
        matchCount === 0
          ? 'no rows'
          : `rows ${fmt(start + 1)}–${fmt(end)} · page ${fmt(page + 1)} of ${fmt(lastPage() + 1)}`;
      pageLabel.dataset.page = String(page + 1);
      previous.disabled = page === 0;
      next.disabled = page >= lastPage();
    }

    resort();
    return root;
  }

  // --- discrepancies ---

  const groupName = (i) => data.groups[i].id;

  function buildDiscrepancies(section) {
    section.append(h('h2', { text: 'Discrepancies' }));
    section.append(
      h('p', {
        className: 'muted',
        text: 'One row per group and address out of agreement. missing: some members hold the address and others lack it (a patch adds it). extra: in a mirror group, targets hold an address the source lacks. Select an address for its evidence.',
      }),
    );
    const notice = truncationNotice('discrepancies', 'view');
    if (notice !== null) section.append(notice);
    const panel = h('section', { className: 'panel', id: 'evidence', hidden: true, 'aria-live': 'polite' });
    const memberOptions = accounts.map((id, i) => [String(i), id]);
    const table = dataTable({
      id: 'discrepancies',
      label: 'discrepancies',
      caption: 'Discrepancies',
      rows: data.discrepancies,
      searchLabel: 'Search addresses',
      haystack: (row) => row[2],
      filters: [
        {
          id: 'group',
          label: 'group',
          options: data.groups.map((g, i) => [String(i), g.id]),
          test: (row, v) => row[0] === Number(v),
        },
        {
          id: 'kind',
          label: 'kind',
          options: kinds.map((k, i) => [String(i), k]),
          test: (row, v) => row[1] === Number(v),
        },
        {
          id: 'missing-from',
          label: 'missing from account',
          options: memberOptions,
          test: (row, v) => row[4].includes(Number(v)),
        },
        {
          id: 'present-in',
          label: 'present in account',
          options: memberOptions,
          test: (row, v) => row[3].includes(Number(v)),
        },
      ],
      columns: [
        { label: 'group', sortKey: (row) => groupName(row[0]), cell: (row) => groupName(row[0]) },
        {
          label: 'kind',
          sortKey: (row) => kinds[row[1]],
          cell: (row) => badge(kinds[row[1]], `kind-${kinds[row[1]]}`),
        },
        {
          label: 'address',
          className: 'addr',
          sortKey: (row) => row[2],
          cell: (row) => {
            const button = h('button', {
              type: 'button',
              className: 'link',
              text: row[2],
              title: 'Show the evidence',
            });
            button.addEventListener('click', () => showEvidence(panel, row));
            return button;
          },
        },
        { label: 'present in', sortKey: (row) => accountList(row[3]), cell: (row) => accountList(row[3]) },
        { label: 'missing from', sortKey: (row) => accountList(row[4]), cell: (row) => accountList(row[4]) },
        {
          label: 'first unsubscribed (UTC)',
          className: 'mono',
          sortKey: (row) => row[5],
          cell: (row) => (row[5] ? when(row[5]) : h('span', { className: 'muted', text: 'no time given' })),
        },
      ],
    });
    section.append(panel, table);
  }

  function showEvidence(panel, row) {
    const [groupIndex, kind, email, present, missing, first, evidenceIndex] = row;
    const group = data.groups[groupIndex];
    const close = h('button', { type: 'button', className: 'panel-close', text: 'Close' });
    close.addEventListener('click', () => {
      panel.hidden = true;
    });
    panel.replaceChildren(
      h('header', {}, [
        h('h3', {}, ['Evidence for ', h('span', { className: 'mono', id: 'evidence-address', text: email })]),
        close,
      ]),
      h('p', {
        text: `Group ${group.id} (${group.policy}), ${kinds[kind]}: present in ${accountList(present) || 'none'}; missing from ${accountList(missing) || 'none'}; first unsubscribed ${first ? when(first) : 'at no known time'}.`,
      }),
    );
    const ev = evidenceFor(evidenceIndex);
    if (ev === undefined) {
      panel.append(h('p', { text: 'The evidence is still loading; select the address again in a moment.' }));
      panel.hidden = false;
      return;
    }
    // Members in the group's order (held in some scope, or not at all), then other accounts that hold it.
    const held = ev.holders;
    const body = h('tbody');
    for (const account of group.members) {
      const mine = held.filter((entry) => entry[0] === account);
      for (const entry of mine) body.append(evidenceRow(ev, entry, group, email));
      if (mine.length === 0) {
        body.append(
          h('tr', { 'data-account': accountName(account) }, [
            h('td', { text: accountName(account) }),
            h('td', {}, [badge('does not hold it', 'bad')]),
            h('td', {
              colSpan: 5,
              className: 'muted',
              text: 'No row for this address in its current snapshot.',
            }),
          ]),
        );
      }
    }
    for (const entry of held) {
      if (!group.members.includes(entry[0])) body.append(evidenceRow(ev, entry, group, email));
    }
    panel.append(
      h('div', { className: 'table-wrap' }, [
        h('table', { id: 'evidence-table' }, [
          h('thead', {}, [
            h(
              'tr',
              {},
              [
                'account',
                'state',
                'since (UTC)',
                'delivered as',
                'scope / expiry',
                'seen in runs',
                'source rows',
              ].map((label) => h('th', { scope: 'col', text: label })),
            ),
          ]),
          body,
        ]),
      ]),
      h('p', { className: 'muted' }, [
        'Full raw records: ',
        h('code', { text: `unsub-recon audit '${email.replace(/'/g, "'\\''")}'` }),
      ]),
    );
    panel.hidden = false;
    panel.scrollIntoView({ block: 'nearest' });
  }

  function holderState(group, entry) {
    if (!group.members.includes(entry[0])) return badge('holds it, not in this group', 'ok');
    if (entry[1] !== group.scope) return badge(`holds it in ${entry[1]} only, not ${group.scope}`, 'bad');
    return entry[5] ? badge('holds it', 'ok') : badge('expired', 'bad');
  }

  /** One holder (layout: reports/evidence.sql); 0 stands for "the same as the address / spelling". */
  function evidenceRow(ev, entry, group, email) {
    const [account, scope, stored, since, expires, , observed, firstRun, lastRun, sources] = entry;
    const spelling = stored === 0 ? email : stored;
    const list = h('ul', { className: 'sources' });
    for (const [run, seq, page, rowNo, rawEmail, rawTime, rawExpires, requestIndex] of sources) {
      const request = requestIndex >= 0 ? ev.requests[requestIndex] : null;
      list.append(
        h('li', {}, [
          h('span', {
            className: 'mono',
            text: `run ${ev.runs[run]} · request ${seq}${page === null ? '' : ` · page ${page}`} · row ${rowNo}`,
          }),
          h('br'),
          'raw ',
          h('code', { text: JSON.stringify(rawEmail === 0 ? spelling : rawEmail) }),
          rawTime === null ? ', no time' : [', time ', h('code', { text: rawTime })],
          rawExpires === null ? '' : [', expires ', h('code', { text: rawExpires })],
          request
            ? [
                h('br'),
                h('span', {
                  className: 'mono muted',
                  text: `${request[3]} ${request[4]} → ${request[5] === null ? 'no answer' : request[5]}${request[6] ? `, window ${when(request[6])} – ${when(request[7])}` : ''}`,
                }),
              ]
            : '',
        ]),
      );
    }
    return h('tr', { 'data-account': accountName(account) }, [
      h('td', { text: accountName(account) }),
      h('td', {}, [holderState(group, entry)]),
      h('td', {
        className: 'mono',
        text: since ? when(since) : `no time given (first fetched ${when(observed)})`,
      }),
      h('td', {}, [h('code', { text: JSON.stringify(spelling) })]),
      h('td', { text: `${scope}${expires ? `, expires ${when(expires)}` : ''}` }),
      h('td', {
        className: 'mono',
        text: firstRun === lastRun ? ev.runs[firstRun] : `${ev.runs[firstRun]} … ${ev.runs[lastRun]}`,
      }),
      h('td', {}, [list]),
    ]);
  }

  // --- rejects ---

  function buildRejects(section) {
    section.append(h('h2', { text: 'Rejects' }));
    section.append(
      h('p', {
        className: 'muted',
        text: 'Raw values that are not usable addresses, exactly as the provider sent them, with the reason. They are never diffed or patched.',
      }),
    );
    const notice = truncationNotice('rejects', 'view');
    if (notice !== null) section.append(notice);
    const reasons = [...new Set(data.rejects.map((r) => r[2]))].sort();
    const used = [...new Set(data.rejects.map((r) => r[0]))].sort((a, b) => a - b);
    section.append(
      dataTable({
        id: 'rejects',
        label: 'rejects',
        caption: 'Rejected raw values',
        rows: data.rejects,
        searchLabel: 'Search raw values',
        haystack: (row) => row[1].toLowerCase(),
        filters: [
          {
            id: 'account',
            label: 'account',
            options: used.map((i) => [String(i), accounts[i]]),
            test: (row, v) => row[0] === Number(v),
          },
          {
            id: 'reason',
            label: 'reason',
            options: reasons.map((r) => [r, r]),
            test: (row, v) => row[2] === v,
          },
        ],
        columns: [
          { label: 'account', sortKey: (row) => accounts[row[0]], cell: (row) => accounts[row[0]] },
          {
            label: 'raw value',
            className: 'addr',
            sortKey: (row) => row[1],
            cell: (row) => h('code', { text: JSON.stringify(row[1]) }),
          },
          { label: 'reason', sortKey: (row) => row[2], cell: (row) => row[2] },
          {
            label: 'first delivered by run',
            className: 'mono',
            sortKey: (row) => row[3],
            cell: (row) => row[3],
          },
        ],
      }),
    );
  }

  // --- completeness and configuration ---

  function simpleTable(caption, headings, rows, id) {
    return h('div', { className: 'table-wrap' }, [
      h('table', { id }, [
        h('caption', { className: 'muted', text: caption }),
        h('thead', {}, [
          h(
            'tr',
            {},
            headings.map((label) => h('th', { scope: 'col', text: label })),
          ),
        ]),
        h(
          'tbody',
          {},
          rows.map((cells) =>
            h(
              'tr',
              { 'data-key': cells[0] },
              cells.map((cell) => {
                const td = h('td');
                appendAll(td, cell);
                return td;
              }),
            ),
          ),
        ),
      ]),
    ]);
  }

  function buildCompleteness(section) {
    section.append(h('h2', { text: 'Completeness of every account' }));
    section.append(
      h('p', {
        className: 'muted',
        text: "Each account's latest extraction, which the completeness gate checks before a group is diffed, and the full extraction its state starts from.",
      }),
    );
    const rows = data.completeness.map((c) => [
      c.account,
      c.provider,
      badge(c.state, c.state === 'complete' ? 'ok' : 'bad'),
      c.runId ? [h('span', { className: 'mono', text: c.runId }), ` (${c.mode})`] : '—',
      c.rangeFrom ? `${when(c.rangeFrom)} – ${when(c.rangeTo)}` : '—',
      c.runId
        ? `${fmt(c.windowsComplete)} of ${fmt(c.windows)}${c.windowsFailed ? `, ${fmt(c.windowsFailed)} failed` : ''}`
        : '—',
      c.runId ? `${fmt(c.requests)} (${fmt(c.retries)} retries)` : '—',
      c.runId
        ? `${fmt(c.rows)}${c.providerTotal === null ? '' : ` (provider says ${fmt(c.providerTotal)})`}`
        : '—',
      c.runId ? (c.coverageOk ? badge('no gap or overlap', 'ok') : badge('gap or overlap', 'bad')) : '—',
      c.fullRunId ? h('span', { className: 'mono', text: c.fullRunId }) : 'none',
      [c.error || '', ...c.failedWindows.map((w) => h('div', { className: 'mono', text: w }))],
    ]);
    section.append(
      simpleTable(
        'Latest extraction per account',
        [
          'account',
          'provider',
          'state',
          'latest run',
          'range',
          'windows',
          'requests',
          'rows',
          'coverage',
          'last full snapshot',
          'error / failed windows',
        ],
        rows,
        'completeness-table',
      ),
    );
    section.append(h('h3', { text: 'Groups' }));
    section.append(
      simpleTable(
        'Whether each group was diffed',
        ['group', 'policy', 'members', 'diffed', 'incomplete members', 'detail'],
        data.groups.map((g) => [
          g.id,
          g.policy,
          accountList(g.members),
          g.diffed
            ? g.allowedIncomplete
              ? badge('yes, --allow-incomplete', 'bad')
              : badge('yes', 'ok')
            : badge('no', 'bad'),
          accountList(g.incomplete) || 'none',
          g.detail || '',
        ]),
        'group-status-table',
      ),
    );
  }

  function buildConfig(section) {
    const config = data.config;
    section.append(h('h2', { text: 'Configuration' }));
    section.append(
      h('p', {
        className: 'muted',
        text: 'As loaded for this report; credentials are never part of a report.',
      }),
    );
    section.append(
      simpleTable(
        'Accounts',
        ['account', 'provider', 'API base URL', 'time zone', 'history since'],
        config.accounts.map((a) => [
          a.id,
          a.provider,
          h('span', { className: 'mono', text: a.baseUrl }),
          a.timezone,
          a.since,
        ]),
        'config-accounts',
      ),
    );
    section.append(
      simpleTable(
        'Groups',
        ['group', 'policy', 'source', 'scope', 'members'],
        config.groups.map((g) => [g.id, g.policy, g.source || '—', g.scope, g.accounts.join(', ')]),
        'config-groups',
      ),
    );
  }

  renderMeta();
  renderBanners();
  addView('summary', 'Summary', buildSummary);
  addView('discrepancies', `Discrepancies (${fmt(data.totals.discrepancies)})`, buildDiscrepancies);
  addView('rejects', `Rejects (${fmt(data.totals.rejects)})`, buildRejects);
  addView('completeness', 'Completeness', buildCompleteness);
  addView('config', 'Configuration', buildConfig);
  showView(data.totals.discrepancies > 0 ? 'summary' : 'completeness');
  document.documentElement.dataset.ready = 'true';
  performance.mark('report-rendered');
  // The first frame with the report in it has been painted once this timer runs (bench/report.ts).
  requestAnimationFrame(() => setTimeout(() => performance.mark('report-painted'), 0));
})();
