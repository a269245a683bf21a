/*
 * Room page: watch together (a shared player) and a call (WebRTC, a full
 * mesh between the members in it). Needs room.js (window.chat), common.js
 * and a browser with HTML5 media and, for the call, RTCPeerConnection.
 *
 * Player: the server keeps the room's state {url, playing, position,
 * updatedAt}: at server time updatedAt the media was at position seconds.
 * Every page plays towards position + (serverNow - updatedAt) while
 * playing, with serverNow from the rtt exchange's clock offset, and seeks
 * when it drifts more than DRIFT_S from it. What the viewer does with the
 * player's own controls (play, pause, seek) is sent as an action; an event
 * the page caused itself while applying the shared state agrees with that
 * state and is therefore never sent back (no echo loop).
 *
 * Call: "Join call" takes the camera and microphone and announces it
 * (call {active}); of every two members in the call, the one with the
 * smaller id sends the offer, so two never offer to each other at once.
 * Offers, answers and ICE candidates travel as signal {to, data}.
 *
 * Everything user-written (names, URLs) is set as text, never as HTML.
 */
(function () {
  'use strict';

  var C = window.ChatCommon;
  var chat = window.chat;
  if (!chat || !chat.socket) {
    return;
  }
  var socket = chat.socket;
  var emitAck = chat.emitAck; // room.js's: an answer or a timeout error, normalized
  var body = document.body;
  var ROOM = body.getAttribute('data-room') || '';
  var DEMO = body.getAttribute('data-demo-clip') || '';
  var ICE_SERVERS = parseJSON(body.getAttribute('data-ice-servers'), []);

  var SYNC_EVERY_MS = 500;
  var DRIFT_S = 0.5; // drift beyond which a page seeks back into step
  var USER_SEEK_S = 1.0; // a seek further than this from the shared position is the viewer's
  var END_S = 0.25; // this close to the end, playing media counts as ended
  var MAX_IN_CALL = 6;

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    player: $('player'),
    status: $('player-status'),
    form: $('player-form'),
    url: $('player-url'),
    load: $('player-load'),
    demo: $('player-demo'),
    stage: $('player-stage'),
    video: $('player-video'),
    yt: $('player-yt'),
    hint: $('player-hint'),
    audio: $('player-audio'),
    call: $('call'),
    callStatus: $('call-status'),
    join: $('call-join'),
    mute: $('call-mute'),
    camera: $('call-camera'),
    leave: $('call-leave'),
    tiles: $('call-tiles')
  };
  if (!ui.player || !ui.call) {
    return;
  }

  function parseJSON(s, fallback) {
    try {
      var v = JSON.parse(s || '');
      return v === null || v === undefined ? fallback : v;
    } catch (e) {
      return fallback;
    }
  }


  function me() {
    return chat.state.me;
  }

  function joined() {
    return chat.state.joined && socket.connected;
  }

  // ================================================================ player

  var player = {
    state: null, // the room's shared state, as the server last sent it
    media: null, // adapter for the element showing state.url
    mediaURL: '',
    blocked: false, // the browser refused to start playback without a gesture
    sent: 0 // actions sent, for tests
  };

  // expected returns where the shared state says the media is now.
  function expected(st) {
    if (!st) {
      return 0;
    }
    var pos = st.position;
    if (st.playing) {
      pos += Math.max(0, chat.serverNow() - st.updatedAt) / 1000;
    }
    return pos;
  }

  function clampToMedia(pos, media) {
    var d = media.duration();
    if (d > 0 && isFinite(d) && pos > d) {
      return d;
    }
    return pos;
  }

  // youtubeID returns the video id of a YouTube link, or ''.
  function youtubeID(raw) {
    var u;
    try {
      u = new URL(raw);
    } catch (e) {
      return '';
    }
    var host = u.hostname.replace(/^(www|m|music)\./, '');
    var id = '';
    if (host === 'youtu.be') {
      id = u.pathname.slice(1).split('/')[0];
    } else if (host === 'youtube.com' || host === 'youtube-nocookie.com') {
      if (u.pathname === '/watch') {
        id = u.searchParams.get('v') || '';
      } else {
        var m = /^\/(embed|shorts|live|v)\/([^/?#]+)/.exec(u.pathname);
        id = m ? m[2] : '';
      }
    }
    return /^[A-Za-z0-9_-]{11}$/.test(id) ? id : '';
  }

  // ------------------------------------------------ media adapters

  // videoAdapter drives the page's <video> element.
  function videoAdapter(url) {
    var v = ui.video;
    C.show(ui.yt, false);
    C.show(v, true);
    v.src = url;
    v.load();
    var a = {
      kind: 'video',
      ready: function () { return v.readyState >= 1; },
      time: function () { return v.currentTime; },
      duration: function () { return v.duration; },
      paused: function () { return v.paused; },
      seek: function (t) { v.currentTime = t; },
      play: function () {
        var p = v.play();
        if (p && p.then) {
          p.then(function () {
            setBlocked(false);
          }, function (err) {
            if (err && err.name === 'NotAllowedError') {
              setBlocked(true);
            }
          });
        }
      },
      pause: function () { v.pause(); },
      destroy: function () {
        v.pause();
        v.removeAttribute('src');
        v.load();
      }
    };
    return a;
  }

  // The viewer's own use of the <video> controls becomes an action; what
  // the page did itself agrees with the shared state and is not sent.
  ui.video.addEventListener('play', function () {
    if (player.media && player.media.kind === 'video') {
      setBlocked(false);
      localChange('play');
    }
  });
  ui.video.addEventListener('pause', function () {
    if (player.media && player.media.kind === 'video' && !ui.video.ended) {
      localChange('pause');
    }
  });
  ui.video.addEventListener('seeked', function () {
    if (player.media && player.media.kind === 'video') {
      localChange('seek');
    }
  });
  ui.video.addEventListener('loadedmetadata', function () {
    // A clip of sound alone (a WAV, an MP3) gets a label instead of a
    // blank picture.
    C.show(ui.audio, !!(player.media && player.media.kind === 'video' && ui.video.videoWidth === 0));
    sync();
  });
  ui.video.addEventListener('error', function () {
    if (player.media && player.media.kind === 'video' && ui.video.getAttribute('src')) {
      hint('This browser cannot play that link.');
    }
  });

  // YouTube's IFrame API, loaded once on the first YouTube link.
  var yt = { loading: false, ready: false, waiting: [] };

  function withYouTube(fn) {
    if (yt.ready) {
      fn();
      return;
    }
    yt.waiting.push(fn);
    if (yt.loading) {
      return;
    }
    yt.loading = true;
    var prev = window.onYouTubeIframeAPIReady;
    window.onYouTubeIframeAPIReady = function () {
      yt.ready = true;
      if (typeof prev === 'function') {
        prev();
      }
      var w = yt.waiting;
      yt.waiting = [];
      for (var i = 0; i < w.length; i++) {
        w[i]();
      }
    };
    var s = document.createElement('script');
    s.src = 'https://www.youtube.com/iframe_api';
    s.onerror = function () {
      yt.loading = false;
      hint('The YouTube player could not be loaded (no connection to youtube.com?).');
    };
    document.head.appendChild(s);
  }

  // youtubeAdapter drives a YouTube embed. The iframe is made here, so
  // that it can send its origin as referrer (the page itself sends none).
  function youtubeAdapter(id) {
    ui.video.pause();
    C.show(ui.video, false);
    C.show(ui.yt, true);
    while (ui.yt.firstChild) {
      ui.yt.removeChild(ui.yt.firstChild);
    }
    var frame = document.createElement('iframe');
    frame.setAttribute('referrerpolicy', 'strict-origin-when-cross-origin');
    frame.setAttribute('allow', 'autoplay; encrypted-media; picture-in-picture');
    frame.setAttribute('title', 'YouTube video');
    frame.src = 'https://www.youtube-nocookie.com/embed/' + encodeURIComponent(id) +
      '?enablejsapi=1&playsinline=1&rel=0&origin=' + encodeURIComponent(location.origin);
    ui.yt.appendChild(frame);
    var yp = null;
    var a = {
      kind: 'youtube',
      ready: function () { return !!yp && typeof yp.getCurrentTime === 'function'; },
      time: function () { return yp.getCurrentTime(); },
      duration: function () { return yp.getDuration(); },
      paused: function () {
        var s = yp.getPlayerState();
        return s !== 1 && s !== 3; // PLAYING, BUFFERING
      },
      seek: function (t) { yp.seekTo(t, true); },
      play: function () { yp.playVideo(); },
      pause: function () { yp.pauseVideo(); },
      destroy: function () {
        if (yp && yp.destroy) {
          yp.destroy();
        }
        while (ui.yt.firstChild) {
          ui.yt.removeChild(ui.yt.firstChild);
        }
      }
    };
    withYouTube(function () {
      if (player.media !== a) {
        return;
      }
      yp = new window.YT.Player(frame, {
        events: {
          onReady: sync,
          onStateChange: function (ev) {
            if (player.media !== a) {
              return;
            }
            if (ev.data === 1) {
              localChange('seek');
              localChange('play');
            } else if (ev.data === 2) {
              localChange('pause');
            }
          }
        }
      });
    });
    return a;
  }

  // ------------------------------------------------ applying the state

  function setBlocked(b) {
    if (player.blocked === b) {
      return;
    }
    player.blocked = b;
    if (b) {
      hint('Your browser paused the video until you press play: it then joins the others.');
    } else {
      hint('');
    }
  }

  function hint(text) {
    C.setText(ui.hint, text);
    C.show(ui.hint, !!text);
  }

  // applyState takes in a state from the server (an event, a join, an ack).
  function applyState(st) {
    if (!st || typeof st !== 'object' || typeof st.url !== 'string') {
      return;
    }
    player.state = {
      url: st.url,
      playing: !!st.playing,
      position: Number(st.position) || 0,
      updatedAt: Number(st.updatedAt) || 0,
      by: st.by || {}
    };
    if (player.mediaURL !== st.url) {
      if (player.media) {
        player.media.destroy();
      }
      player.mediaURL = st.url;
      player.blocked = false;
      hint('');
      var id = youtubeID(st.url);
      C.show(ui.audio, false);
      player.media = id ? youtubeAdapter(id) : videoAdapter(st.url);
      C.show(ui.stage, true);
    }
    showStatus();
    sync();
  }

  function clearState() {
    player.state = null;
    if (player.media) {
      player.media.destroy();
    }
    player.media = null;
    player.mediaURL = '';
    C.show(ui.audio, false);
    C.show(ui.stage, false);
    showStatus();
  }

  function showStatus() {
    var st = player.state;
    ui.player.setAttribute('data-state', st ? (st.playing ? 'playing' : 'paused') : 'empty');
    if (!st) {
      C.setText(ui.status, 'Load a video for everyone in the room.');
      return;
    }
    var who = st.by && st.by.name ? String(st.by.name) : 'someone';
    var mine = me() && st.by && String(st.by.id) === String(me().id);
    C.setText(ui.status, (st.playing ? 'Playing' : 'Paused') + ' \u00b7 ' + (mine ? 'you' : who) + ' \u00b7 ' + st.url);
    ui.status.title = st.url;
  }

  // sync brings the media in step with the shared state.
  function sync() {
    var st = player.state;
    var m = player.media;
    if (!st || !m || !m.ready()) {
      return;
    }
    var target = clampToMedia(expected(st), m);
    var d = m.duration();
    // Past the end the media stays ended: play() would start it again from
    // the beginning, for this page alone.
    var over = d > 0 && isFinite(d) && target >= d - END_S;
    if (Math.abs(m.time() - target) > DRIFT_S && !(over && m.paused())) {
      m.seek(target);
    }
    if (st.playing && m.paused() && !player.blocked && !over) {
      m.play();
    } else if (!st.playing && !m.paused()) {
      m.pause();
    }
  }
  setInterval(sync, SYNC_EVERY_MS);

  // localChange sends what the viewer did, unless it agrees with the shared
  // state (then the page did it itself, applying that state).
  function localChange(kind) {
    var st = player.state;
    var m = player.media;
    if (!st || !m || !m.ready() || !joined()) {
      return;
    }
    var payload = null;
    if (kind === 'play' && !st.playing) {
      payload = { room: ROOM, action: 'play' };
    } else if (kind === 'pause' && st.playing) {
      payload = { room: ROOM, action: 'pause' };
    } else if (kind === 'seek') {
      var t = m.time();
      if (Math.abs(t - clampToMedia(expected(st), m)) > USER_SEEK_S) {
        payload = { room: ROOM, action: 'seek', position: Math.max(0, t) };
      }
    }
    if (!payload) {
      return;
    }
    // Take the change as the shared state at once, so that the next sync
    // does not undo it before the ack arrives.
    var pos = payload.action === 'seek' ? payload.position : m.time();
    player.state = {
      url: st.url,
      playing: payload.action === 'seek' ? st.playing : payload.action === 'play',
      position: pos,
      updatedAt: chat.serverNow(),
      by: me() || {}
    };
    send(payload, st);
  }

  // send sends a player action; when it is refused, the state taken at
  // once is given up for prev, the one before.
  function send(payload, prev) {
    player.sent++;
    emitAck('player', payload, function (res) {
      if (res.ok) {
        if (payload.action === 'load') {
          ui.url.value = '';
          ui.url.removeAttribute('aria-invalid');
          C.clearError();
        }
        applyState(res.player);
        return;
      }
      C.showError(res.error);
      if (prev && player.state && player.state.url === prev.url) {
        player.state = prev;
        showStatus();
        sync();
      }
    });
  }

  ui.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var url = ui.url.value.replace(/^\s+|\s+$/g, '');
    var problem = urlProblem(url);
    if (problem) {
      ui.url.setAttribute('aria-invalid', 'true');
      C.showError({ code: 'url_invalid', message: problem });
      return;
    }
    ui.url.removeAttribute('aria-invalid');
    C.clearError();
    send({ room: ROOM, action: 'load', url: url });
  });

  ui.demo.addEventListener('click', function () {
    send({ room: ROOM, action: 'load', url: location.origin + DEMO });
  });

  function urlProblem(url) {
    if (!url) {
      return 'Paste a link to a video first.';
    }
    if (url.length > 2048) {
      return 'Links are at most 2048 characters; this one has ' + url.length + '.';
    }
    if (!/^https?:\/\/[^/\s]+/i.test(url)) {
      return 'Links start with http:// or https://.';
    }
    return '';
  }

  // inRoom: joined, or receiving what was missed during a brief drop
  // (connection state recovery hands it over just before 'connect').
  function inRoom() {
    return chat.state.joined || chat.state.wasJoined;
  }

  socket.on('player', function (st) {
    if (!st || st.room !== ROOM || !inRoom()) {
      return;
    }
    applyState(st);
  });

  // ================================================================ call

  var call = {
    active: false, // this page is in the call
    joining: false,
    members: {}, // user id -> {id, name}: who is in the call, besides us
    peers: {}, // user id -> peer
    stream: null,
    early: [], // signals that arrived while joining, before the ack
    muted: false,
    cameraOff: false
  };

  function callCount() {
    var n = 0;
    for (var id in call.members) {
      if (call.members.hasOwnProperty(id)) {
        n++;
      }
    }
    return n;
  }

  function showCall() {
    ui.call.setAttribute('data-state', call.active ? 'active' : call.joining ? 'joining' : 'idle');
    C.show(ui.join, !call.active);
    ui.join.disabled = call.joining || !joined();
    C.show(ui.mute, call.active);
    C.show(ui.camera, call.active);
    C.show(ui.leave, call.active);
    C.setText(ui.mute, call.muted ? 'Unmute' : 'Mute');
    ui.mute.setAttribute('aria-pressed', call.muted ? 'true' : 'false');
    C.setText(ui.camera, call.cameraOff ? 'Camera on' : 'Camera off');
    ui.camera.setAttribute('aria-pressed', call.cameraOff ? 'true' : 'false');
    var others = callCount();
    var text;
    if (call.active) {
      text = others ? 'You and ' + others + ' other' + (others > 1 ? 's' : '') + ' in the call.' : 'You are in the call. Waiting for others\u2026';
    } else if (others >= MAX_IN_CALL) {
      text = 'The call is full: ' + MAX_IN_CALL + ' people at most.';
    } else {
      text = others ? others + ' in the call.' : 'Nobody is in the call.';
    }
    C.setText(ui.callStatus, text);
  }

  function tile(id, name, isMe) {
    var t = C.el('div', 'call-tile' + (isMe ? ' is-me' : ''));
    t.setAttribute('data-user-id', String(id));
    var v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    if (isMe) {
      v.muted = true;
    }
    t.appendChild(v);
    t.appendChild(C.el('span', 'call-tile-name', isMe ? name + ' (you)' : name));
    ui.tiles.appendChild(t);
    return t;
  }

  function removeTile(id) {
    var all = ui.tiles.children;
    for (var i = all.length - 1; i >= 0; i--) {
      if (all[i].getAttribute('data-user-id') === String(id)) {
        var v = all[i].querySelector('video');
        if (v) {
          v.srcObject = null;
        }
        ui.tiles.removeChild(all[i]);
      }
    }
  }

  ui.join.addEventListener('click', function () {
    if (call.active || call.joining) {
      return;
    }
    if (callCount() >= MAX_IN_CALL) {
      C.showError({ code: 'call_full', message: 'The call is full: at most ' + MAX_IN_CALL + ' people can be in it.' });
      showCall();
      return;
    }
    if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      C.showError({ code: 'call_unsupported', message: 'This browser cannot make calls (no WebRTC, or the page is not served over HTTPS).' });
      return;
    }
    call.joining = true;
    showCall();
    navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } }).then(function (stream) {
      if (!call.joining) {
        stopStream(stream);
        return;
      }
      emitAck('call', { room: ROOM, active: true }, function (res) {
        call.joining = false;
        if (!res.ok) {
          stopStream(stream);
          C.showError(res.error);
          showCall();
          return;
        }
        call.active = true;
        call.stream = stream;
        call.muted = false;
        call.cameraOff = false;
        var t = tile(me().id, me().name, true);
        t.querySelector('video').srcObject = stream;
        var early = call.early;
        call.early = [];
        for (var i = 0; i < early.length; i++) {
          onSignal(early[i]);
        }
        for (var id in call.members) {
          if (call.members.hasOwnProperty(id)) {
            connectTo(id);
          }
        }
        showCall();
      });
    }, function (err) {
      call.joining = false;
      C.showError({ code: 'media_denied', message: 'The camera and microphone are not available: ' + (err && err.message ? err.message : String(err)) });
      showCall();
    });
  });

  ui.leave.addEventListener('click', function () {
    if (!call.active) {
      return;
    }
    endCall();
    emitAck('call', { room: ROOM, active: false }, function (res) {
      if (!res.ok && res.error.code !== 'not_in_room') {
        C.showError(res.error);
      }
    });
  });

  ui.mute.addEventListener('click', function () {
    call.muted = !call.muted;
    setTracks('audio', !call.muted);
    showCall();
  });

  ui.camera.addEventListener('click', function () {
    call.cameraOff = !call.cameraOff;
    setTracks('video', !call.cameraOff);
    showCall();
  });

  function setTracks(kind, enabled) {
    if (!call.stream) {
      return;
    }
    var tracks = call.stream.getTracks();
    for (var i = 0; i < tracks.length; i++) {
      if (tracks[i].kind === kind) {
        tracks[i].enabled = enabled;
      }
    }
  }

  function stopStream(stream) {
    var tracks = stream.getTracks();
    for (var i = 0; i < tracks.length; i++) {
      tracks[i].stop();
    }
  }

  // endCall leaves the call on this page: every connection closed, the
  // camera and microphone released.
  function endCall() {
    for (var id in call.peers) {
      if (call.peers.hasOwnProperty(id)) {
        closePeer(id);
      }
    }
    if (call.stream) {
      stopStream(call.stream);
    }
    call.stream = null;
    call.active = false;
    call.joining = false;
    call.early = [];
    if (me()) {
      removeTile(me().id);
    }
    while (ui.tiles.firstChild) {
      ui.tiles.removeChild(ui.tiles.firstChild);
    }
    showCall();
  }

  // connectTo starts the connection with member id of the call, once both
  // are in it. The member with the smaller id makes the offer.
  function connectTo(id) {
    if (!call.active || call.peers[id] || !me() || String(id) === String(me().id)) {
      return;
    }
    var p = newPeer(id);
    if (String(me().id) < String(id)) {
      p.chain = p.chain.then(function () {
        return p.pc.createOffer();
      }).then(function (offer) {
        return p.pc.setLocalDescription(offer);
      }).then(function () {
        signal(id, { description: p.pc.localDescription.toJSON() });
      }).catch(function (err) {
        peerFailed(id, err);
      });
    }
  }

  function newPeer(id) {
    var member = call.members[id] || { id: id, name: '' };
    var pc = new RTCPeerConnection({ iceServers: ICE_SERVERS });
    var p = { id: id, pc: pc, chain: Promise.resolve(), tile: tile(id, member.name, false) };
    p.tile.setAttribute('data-state', 'connecting');
    call.peers[id] = p;
    var tracks = call.stream.getTracks();
    for (var i = 0; i < tracks.length; i++) {
      pc.addTrack(tracks[i], call.stream);
    }
    pc.onicecandidate = function (ev) {
      if (ev.candidate) {
        signal(id, { candidate: ev.candidate.toJSON() });
      }
    };
    pc.ontrack = function (ev) {
      var v = p.tile.querySelector('video');
      var stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      if (v.srcObject !== stream) {
        v.srcObject = stream;
      }
    };
    pc.onconnectionstatechange = function () {
      p.tile.setAttribute('data-state', pc.connectionState);
      if (pc.connectionState === 'failed') {
        C.showError({ code: 'call_failed', message: 'The connection with ' + (member.name || 'a member') + ' failed.' });
      }
    };
    return p;
  }

  function closePeer(id) {
    var p = call.peers[id];
    if (!p) {
      return;
    }
    delete call.peers[id];
    p.pc.onicecandidate = null;
    p.pc.ontrack = null;
    p.pc.onconnectionstatechange = null;
    p.pc.close();
    removeTile(id);
  }

  function peerFailed(id, err) {
    closePeer(id);
    C.showError({ code: 'call_failed', message: 'Could not connect the call: ' + (err && err.message ? err.message : String(err)) });
  }

  function signal(to, data) {
    emitAck('signal', { room: ROOM, to: to, data: data }, function (res) {
      if (!res.ok && res.error.code !== 'peer_not_found') {
        C.showError(res.error);
      }
    });
  }

  socket.on('signal', function (ev) {
    if (!ev || ev.room !== ROOM || !ev.from || !ev.data || typeof ev.data !== 'object') {
      return;
    }
    if (call.joining) {
      // An offer can overtake the answer to our own call event.
      call.early.push(ev);
    } else if (call.active) {
      onSignal(ev);
    }
  });

  function onSignal(ev) {
    var id = String(ev.from.id);
    if (!call.members[id]) {
      call.members[id] = { id: id, name: String(ev.from.name) };
    }
    var p = call.peers[id] || newPeer(id);
    var data = ev.data;
    // Handled one after another, so that a candidate never overtakes the
    // description it belongs to.
    p.chain = p.chain.then(function () {
      if (call.peers[id] !== p) {
        return null;
      }
      if (data.description) {
        return p.pc.setRemoteDescription(data.description).then(function () {
          if (data.description.type !== 'offer') {
            return null;
          }
          return p.pc.createAnswer().then(function (answer) {
            return p.pc.setLocalDescription(answer);
          }).then(function () {
            signal(id, { description: p.pc.localDescription.toJSON() });
          });
        });
      }
      if (data.candidate) {
        return p.pc.addIceCandidate(data.candidate);
      }
      return null;
    }).catch(function (err) {
      if (call.peers[id] === p) {
        peerFailed(id, err);
      }
    });
  }

  socket.on('call', function (ev) {
    if (!ev || ev.room !== ROOM || !ev.user || !inRoom()) {
      return;
    }
    var id = String(ev.user.id);
    if (me() && id === String(me().id)) {
      return;
    }
    if (ev.active) {
      call.members[id] = { id: id, name: String(ev.user.name) };
      connectTo(id);
    } else {
      delete call.members[id];
      closePeer(id);
    }
    showCall();
  });

  // Who leaves the room leaves the call.
  socket.on('left', function (ev) {
    if (!ev || ev.room !== ROOM || !ev.user) {
      return;
    }
    var id = String(ev.user.id);
    delete call.members[id];
    closePeer(id);
    showCall();
  });

  // ================================================================ joins

  function enable(on) {
    ui.url.disabled = !on;
    ui.load.disabled = !on;
    ui.demo.disabled = !on;
    showCall();
  }

  chat.onJoin(function (res) {
    // A join answer is the whole truth: after a reconnect the page may
    // have missed changes, and a new connection is a new member, no
    // longer in the call.
    if (call.active || call.joining) {
      endCall();
      C.showError({ code: 'call_ended', message: 'The connection was lost, so you left the call. Join it again when you like.' });
    }
    call.members = {};
    var members = res.members || [];
    for (var i = 0; i < members.length; i++) {
      var m = members[i];
      if (m && m.inCall && (!me() || String(m.id) !== String(me().id))) {
        call.members[String(m.id)] = { id: String(m.id), name: String(m.name) };
      }
    }
    if (res.player) {
      applyState(res.player);
    } else {
      clearState();
    }
    enable(true);
  });

  socket.on('disconnect', function () {
    enable(false);
  });
  socket.on('connect', function () {
    if (socket.recovered && chat.state.joined) {
      enable(true);
    }
  });

  window.addEventListener('pagehide', function () {
    if (call.active) {
      endCall();
    }
  });

  // Exposed for tests and debugging.
  window.together = { player: player, call: call, expected: expected, youtubeID: youtubeID };

  showCall();
})();
