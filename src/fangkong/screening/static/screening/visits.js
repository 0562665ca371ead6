// The grid worker's door-to-door page, offline first: the worklist is kept in IndexedDB, every
// visit is queued there with an id made on the phone (crypto.randomUUID), and the queue is sent
// whenever the network is back. The server stores a visit once whatever the number of sends;
// a visit it refuses (household re-assigned, campaign closed) stays on the page until dismissed.
(function () {
  "use strict";
  var root = document.getElementById("screening-work");
  var select = document.getElementById("campaign");
  if (!root || !select) { return; }
  var T = JSON.parse(document.getElementById("screening-texts").textContent);
  var DB_NAME = "fangkong-screening-" + root.dataset.user;
  var db = null;
  var syncing = false;
  var worklist = null;

  if ("serviceWorker" in navigator) {
    // The page's own scripts and styles (their hashed names are known here, not to the worker)
    // are handed to the service worker to keep, so the page opens again with no network.
    navigator.serviceWorker.register(root.dataset.swUrl, {scope: "/screening/"}).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var assets = [location.pathname];
      document.querySelectorAll("script[src], link[rel=stylesheet], link[rel=manifest]").forEach(function (node) {
        assets.push(node.src || node.href);
      });
      registration.active.postMessage({keep: assets});
    }).catch(function () {});
  }

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var d = request.result;
        d.createObjectStore("worklists", {keyPath: "campaign.id"});
        d.createObjectStore("queue", {keyPath: "client_id"});
        d.createObjectStore("synced", {keyPath: "client_id"});
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function store(name, mode, work) {
    return new Promise(function (resolve, reject) {
      var tx = db.transaction(name, mode);
      var result = work(tx.objectStore(name));
      tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
      tx.onerror = function () { reject(tx.error); };
    });
  }
  function all(name) { return store(name, "readonly", function (s) { return s.getAll(); }); }
  function put(name, value) { return store(name, "readwrite", function (s) { return s.put(value); }); }
  function del(name, key) { return store(name, "readwrite", function (s) { return s.delete(key); }); }
  function get(name, key) { return store(name, "readonly", function (s) { return s.get(key); }); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function showNet() {
    var net = document.getElementById("net");
    net.textContent = navigator.onLine ? T.online : T.offline;
    net.className = "net " + (navigator.onLine ? "online" : "offline");
  }

  function asks(question) { return worklist.campaign.questions.indexOf(question) >= 0; }

  function memberRow(member, index) {
    var p = "m" + index + "-";
    var parts = [
      el("label", {}, [el("input", {type: "checkbox", name: p + "met", checked: "checked"}), el("span", {text: " " + member.name + " (" + member.age_band + ")"})])
    ];
    if (asks("symptoms")) {
      parts.push(el("label", {}, [el("input", {type: "checkbox", name: p + "fever"}), el("span", {text: " " + T.fever})]));
      parts.push(el("label", {}, [el("input", {type: "checkbox", name: p + "symptoms"}), el("span", {text: " " + T.symptoms})]));
    }
    if (asks("risk_arrival")) {
      parts.push(el("input", {type: "text", name: p + "arrived_from", placeholder: T.arrived_from}));
      parts.push(el("label", {}, [el("span", {text: T.arrived_on + " "}), el("input", {type: "date", name: p + "arrived_on"})]));
    }
    if (asks("vaccination")) {
      var vac = el("select", {name: p + "vaccination", "aria-label": T.vaccination});
      Object.keys(T.vaccinations).forEach(function (key) { vac.appendChild(el("option", {value: key, text: T.vaccinations[key]})); });
      parts.push(vac);
    }
    if (asks("elderly_alone")) {
      parts.push(el("label", {}, [el("input", {type: "checkbox", name: p + "elderly_alone"}), el("span", {text: " " + T.elderly_alone})]));
    }
    if (asks("special_needs")) {
      parts.push(el("input", {type: "text", name: p + "special_needs", placeholder: T.special_needs}));
    }
    return el("div", {class: "member"}, parts);
  }

  function householdCard(household, pending) {
    var outcome = el("select", {name: "outcome", "aria-label": T.outcome});
    Object.keys(T.outcomes).forEach(function (key) { outcome.appendChild(el("option", {value: key, text: T.outcomes[key]})); });
    var form = el("form", {class: "visit"}, [el("label", {}, [el("span", {text: T.outcome + " "}), outcome])]);
    household.members.forEach(function (member, i) { form.appendChild(memberRow(member, i)); });
    if (asks("residents")) {
      form.appendChild(el("input", {type: "text", name: "other_name", placeholder: T.someone_else}));
    }
    form.appendChild(el("input", {type: "text", name: "note", placeholder: T.note}));
    form.appendChild(el("button", {type: "submit", text: T.save}));
    var state = household.visited_at ? " done" : (pending ? " pending" : "");
    var card = el("details", {class: "household" + state, "data-assignment": household.assignment}, [
      el("summary", {text: household.room + (household.address ? " · " + household.address : "") + " · " + household.members.length + " " + T.members}),
      form
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      record(household, form).then(function () {
        card.className = card.className.replace(" pending", "").replace(" done", "") + " pending";
        card.open = false;
      });
    });
    return card;
  }

  function collect(household, form) {
    var f = form.elements;
    var outcome = f.outcome.value;
    var people = [];
    if (outcome === "met") {
      household.members.forEach(function (member, i) {
        var p = "m" + i + "-";
        if (!f[p + "met"].checked) { return; }
        people.push({
          person: member.id,
          name: member.name,
          lives_here: true,
          fever: f[p + "fever"] ? f[p + "fever"].checked : false,
          symptoms: f[p + "symptoms"] ? f[p + "symptoms"].checked : false,
          arrived_from: f[p + "arrived_from"] ? f[p + "arrived_from"].value.trim() : "",
          arrived_on: f[p + "arrived_on"] && f[p + "arrived_on"].value ? f[p + "arrived_on"].value : null,
          vaccination: f[p + "vaccination"] ? f[p + "vaccination"].value : "",
          elderly_alone: f[p + "elderly_alone"] ? f[p + "elderly_alone"].checked : false,
          special_needs: f[p + "special_needs"] ? f[p + "special_needs"].value.trim() : ""
        });
      });
      if (f.other_name && f.other_name.value.trim()) {
        people.push({person: null, name: f.other_name.value.trim(), lives_here: true});
      }
    }
    return {
      client_id: uuid(),
      campaign: worklist.campaign.id,
      assignment: household.assignment,
      version: household.version,
      outcome: outcome,
      visited_at: new Date().toISOString(),
      note: f.note.value.trim(),
      people: people,
      label: household.room + (household.address ? " · " + household.address : ""),
      state: "queued"
    };
  }

  function record(household, form) {
    return put("queue", collect(household, form)).then(refresh).then(sync);
  }

  function refresh() {
    return Promise.all([all("queue"), all("synced")]).then(function (lists) {
      var queue = lists[0], synced = lists[1];
      document.getElementById("queued").textContent = String(queue.filter(function (v) { return v.state === "queued"; }).length);
      document.getElementById("synced").textContent = String(synced.length);
      var refused = queue.filter(function (v) { return v.state !== "queued"; });
      var box = document.getElementById("conflicts-box");
      var list = document.getElementById("conflicts");
      list.textContent = "";
      refused.forEach(function (v) {
        var dismiss = el("button", {type: "button", class: "secondary", text: T.dismiss});
        dismiss.addEventListener("click", function () { del("queue", v.client_id).then(refresh); });
        list.appendChild(el("li", {class: "conflict", "data-code": v.code}, [
          el("span", {text: v.label + ": " + v.detail + " (" + v.code + ") "}), dismiss
        ]));
      });
      box.hidden = refused.length === 0;
    });
  }

  function sync() {
    if (syncing || !navigator.onLine) { return Promise.resolve(); }
    syncing = true;
    return all("queue").then(function (queue) {
      var waiting = queue.filter(function (v) { return v.state === "queued"; }).slice(0, 200);
      if (!waiting.length) { return null; }
      var body = {visits: waiting.map(function (v) {
        return {client_id: v.client_id, assignment: v.assignment, version: v.version, outcome: v.outcome,
                visited_at: v.visited_at, note: v.note, people: v.people};
      })};
      return fetch(root.dataset.syncUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf},
        body: JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (answer) {
        var byId = {};
        waiting.forEach(function (v) { byId[v.client_id] = v; });
        return answer.results.reduce(function (chain, result) {
          var visit = byId[result.client_id];
          if (!visit) { return chain; }
          if (result.status === "stored" || result.status === "duplicate") {
            visit.state = "synced"; visit.visit = result.visit;
            return chain.then(function () { return put("synced", visit); })
              .then(function () { return del("queue", visit.client_id); });
          }
          visit.state = result.status; visit.code = result.code; visit.detail = result.detail;
          return chain.then(function () { return put("queue", visit); });
        }, Promise.resolve()).then(function () { return answer.results.length; });
      });
    }).catch(function () { return null; })
      .then(function (n) { syncing = false; return refresh().then(function () { if (n) { return load(true); } }); });
  }

  function render() {
    var box = document.getElementById("worklist");
    box.textContent = "";
    if (!worklist) { return Promise.resolve(); }
    document.getElementById("fetched").textContent = T.fetched + " " + new Date(worklist.fetched_at).toLocaleString();
    return all("queue").then(function (queue) {
      var pending = {};
      queue.forEach(function (v) { if (v.state === "queued") { pending[v.assignment] = true; } });
      if (!worklist.buildings.length) { box.appendChild(el("p", {class: "muted", text: T.no_households})); }
      worklist.buildings.forEach(function (building) {
        var section = el("section", {class: "building"}, [el("h2", {text: T.building + " " + building.name})]);
        building.households.forEach(function (h) { section.appendChild(householdCard(h, pending[h.assignment])); });
        box.appendChild(section);
      });
    });
  }

  // The worklist from the network when there is one (and kept for later), else the kept one.
  function load(quiet) {
    var id = select.value;
    var url = root.dataset.worklistUrl.replace("/0/", "/" + id + "/");
    var cached = get("worklists", Number(id));
    var fresh = navigator.onLine
      ? fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) { return put("worklists", data).then(function () { return data; }); })
        .catch(function () { return cached; })
      : cached;
    return fresh.then(function (data) {
      if (data) { worklist = data; }
      if (!quiet || data) { return render(); }
    });
  }

  openDb().then(function (opened) {
    db = opened;
    showNet();
    window.addEventListener("online", function () { showNet(); sync(); });
    window.addEventListener("offline", showNet);
    select.addEventListener("change", function () { load(false); });
    document.getElementById("sync-now").addEventListener("click", function () { sync(); });
    setInterval(sync, 30000);
    return load(false).then(refresh).then(sync);
  });
}());
