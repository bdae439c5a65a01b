/* Ashvale Linkage web chat: talks to Rasa's socketio channel on the same server.
 *
 * Protocol (rasa/core/channels/socketio.py): on connect send `session_request` with the
 * session id kept in localStorage; the server answers `session_confirm` with the id it uses
 * (a new one if ours was missing). Messages go out as `user_uttered` {message, session_id}
 * and come back as `bot_uttered` {text, quick_replies?, attachment?}.
 *
 * Bot text is never parsed as HTML: it is split into text nodes and links that are built
 * as DOM nodes (web addresses, email addresses, and phone numbers as tel: links).
 */
(function () {
  "use strict";

  var STORE_KEY = "linkage.chat.session";
  var SESSION_IDLE_MS = 30 * 60 * 1000; // a session left alone this long is not resumed (shared computers)
  var TYPING_MS = 20000;

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var statusEl = document.getElementById("status");
  var typing = document.getElementById("typing");
  var restart = document.getElementById("restart");

  var sessionId = null;
  var greeted = false;
  var pending = [];
  var typingTimer = null;
  var socket = null;

  // --- the stored session ------------------------------------------------------------------

  function storedSession() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      if (saved && typeof saved.id === "string" && Date.now() - saved.at < SESSION_IDLE_MS) {
        return saved.id;
      }
    } catch (e) { /* private mode or bad JSON: a new session */ }
    return null;
  }

  function saveSession() {
    if (!sessionId) return;
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify({ id: sessionId, at: Date.now() }));
    } catch (e) { /* not stored: the chat still works */ }
  }

  function forgetSession() {
    try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* nothing stored */ }
  }

  // --- rendering ------------------------------------------------------------------------------

  var URL_END = "[^\\s<>\"]*[^\\s<>\".,;:!?)\\]']";
  var LINKS = new RegExp(
    "(https?:\\/\\/" + URL_END + ")" +                                       // 1 http(s) address
    "|(\\bwww\\." + URL_END + ")" +                                           // 2 www. address
    "|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,})" + // 3 email
    "|(\\b[A-Za-z0-9][A-Za-z0-9-]*(?:\\.[A-Za-z0-9-]+)*\\.(?:org\\.uk|gov\\.uk|co\\.uk|nhs\\.uk|ac\\.uk|uk|org|com|net)" +
      "(?:\\/" + URL_END + ")?(?![\\w@]))" +                                  // 4 bare domain
    "|((?:\\+44\\s?(?:\\(0\\)\\s?)?|\\(?0)\\d{2,4}\\)?[\\s-]?\\d{3,4}[\\s-]?\\d{3,4}(?!\\d))" + // 5 UK phone
    "|(\\b116\\s?\\d{3}\\b|\\b(?:999|111|112)\\b)",                          // 6 short numbers
    "g"
  );

  function link(href, text, external) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (external) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      var note = document.createElement("span");
      note.className = "visually-hidden";
      note.textContent = " (opens in a new tab)";
      a.appendChild(note);
    }
    return a;
  }

  function appendRich(parent, text) {
    var last = 0;
    var m;
    LINKS.lastIndex = 0;
    while ((m = LINKS.exec(text)) !== null) {
      var before = text.charAt(m.index - 1);
      if (m.index > 0 && /[\d£$€]/.test(before) && (m[5] || m[6])) continue; // "£999", "12999"
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var t = m[0];
      if (m[1]) parent.appendChild(link(t, t, true));
      else if (m[2] || m[4]) parent.appendChild(link("https://" + t, t, true));
      else if (m[3]) parent.appendChild(link("mailto:" + t, t, false));
      else parent.appendChild(link("tel:" + t.replace(/[^\d+]/g, ""), t, false));
      last = m.index + t.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function scrollToLatest() {
    form.scrollIntoView({ block: "end" });
  }

  function addMessage(from, text) {
    var li = document.createElement("li");
    li.className = "msg " + from;
    li.setAttribute("data-from", from);
    var who = document.createElement("span");
    who.className = "who";
    who.appendChild(document.createTextNode(from === "bot" ? "Linkage" : "You"));
    var said = document.createElement("span");
    said.className = "visually-hidden";
    said.textContent = " said";
    who.appendChild(said);
    who.appendChild(document.createTextNode(":"));
    li.appendChild(who);
    var p = document.createElement("p");
    p.className = "text";
    if (from === "bot") appendRich(p, String(text || ""));
    else p.textContent = text;
    li.appendChild(p);
    log.appendChild(li);
    scrollToLatest();
    return li;
  }

  function retireChoices() {
    var old = log.querySelectorAll(".choices");
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
  }

  function addChoices(li, replies) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    replies.forEach(function (r) {
      if (!r || !r.title) return;
      var b = document.createElement("button");
      b.type = "button";
      b.className = "choice";
      b.textContent = r.title;
      b.addEventListener("click", function () {
        send(String(r.payload || r.title), String(r.title));
        input.focus();
      });
      group.appendChild(b);
    });
    if (group.childNodes.length) li.appendChild(group);
  }

  function showBotMessage(msg) {
    stopTyping();
    if (!msg || typeof msg !== "object") return;
    var li = null;
    if (msg.text) li = addMessage("bot", msg.text);
    var att = msg.attachment;
    if (att && att.payload && att.payload.src) {
      li = li || addMessage("bot", "");
      var p = li.querySelector(".text");
      p.appendChild(document.createTextNode(p.textContent ? " " : ""));
      p.appendChild(link(String(att.payload.src), "Picture", true));
    }
    var replies = msg.quick_replies || msg.buttons;
    if (li && replies && replies.length) {
      retireChoices();
      addChoices(li, replies);
    }
    saveSession();
  }

  function setStatus(text, problem) {
    if (statusEl.textContent !== text) statusEl.textContent = text;
    statusEl.classList.toggle("problem", !!problem);
  }

  function startTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_MS);
  }

  function stopTyping() {
    typing.hidden = true;
    clearTimeout(typingTimer);
  }

  // --- sending ----------------------------------------------------------------------------------

  function emit(message) {
    socket.emit("user_uttered", { message: message, session_id: sessionId });
    saveSession();
    startTyping();
  }

  function send(message, shown) {
    retireChoices();
    if (shown !== null) addMessage("user", shown);
    if (socket && socket.connected && sessionId) emit(message);
    else pending.push(message);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // a leading "/" would be read as a command ("/intent"), not as what the person wrote
    var text = input.value.replace(/^[\s\/]+/, "").trim();
    if (!text) {
      input.focus();
      return;
    }
    send(text, input.value.trim());
    input.value = "";
    input.focus();
  });

  restart.addEventListener("click", function () {
    forgetSession();
    window.location.reload();
  });

  // --- connecting -------------------------------------------------------------------------------

  if (typeof window.io !== "function") {
    setStatus("The chat could not load. Please call the helpline on 01632 960000.", true);
    return;
  }

  // the page is at <prefix>/webhooks/webchat/; Socket.IO is at <prefix>/socket.io
  var prefix = window.location.pathname.replace(/webhooks\/webchat\/?.*$/, "");
  socket = window.io({ path: prefix + "socket.io", reconnectionDelayMax: 10000 });

  socket.on("connect", function () {
    setStatus("Connecting…", false);
    socket.emit("session_request", { session_id: sessionId || storedSession() });
  });

  socket.on("session_confirm", function (data) {
    sessionId = typeof data === "string" ? data : (data && data.session_id) || sessionId;
    saveSession();
    setStatus("Connected. You can type your message below.", false);
    if (!greeted) {
      greeted = true;
      emit("/greet");
    }
    var queued = pending;
    pending = [];
    queued.forEach(emit);
  });

  socket.on("bot_uttered", showBotMessage);

  socket.on("disconnect", function () {
    stopTyping();
    setStatus("Connection lost. Trying again… If it's urgent, call 01632 960000.", true);
  });

  socket.on("connect_error", function () {
    setStatus("Can't connect just now. Trying again… If it's urgent, call 01632 960000.", true);
  });
})();
