// Runs before the Socket.IO Admin UI (served at /admin/): unless the UI
// remembers another server, it offers the one serving it, so the login
// form only asks for the user name and password.
(function () {
  'use strict';
  try {
    if (!localStorage.getItem('server_url')) {
      localStorage.setItem('server_url', location.origin);
    }
  } catch (e) {
    // Storage disabled: the form then asks for the URL too.
  }
})();
