// The demo page: plain DOM and XMLHttpRequest (for upload progress), against the module's API.
// With the "resumable" switch on, files go through the module's tus routes instead, with
// tus-js-client (its browser bundle, loaded by index.html as `window.tus`).
const base = '/attachments';
const resumable = document.querySelector('.resumable');

const formatSize = (bytes) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

function setupDraft(section) {
  const bundle = section.dataset.bundle;
  const url = `${base}/${encodeURIComponent(bundle)}`;
  const rows = section.querySelector('tbody');
  const empty = section.querySelector('.empty');
  const message = section.querySelector('.message');
  const progressList = section.querySelector('.progress');
  const drop = section.querySelector('.drop');
  const input = section.querySelector('input[type=file]');

  const showError = (text) => {
    message.textContent = text;
    message.hidden = !text;
  };

  async function refresh() {
    const response = await fetch(url);
    render(await response.json());
  }

  function render(attachments) {
    rows.replaceChildren(
      ...attachments.map((attachment) => {
        const row = document.createElement('tr');
        const name = document.createElement('td');
        const link = document.createElement('a');
        link.href = attachment.url;
        link.textContent = attachment.name;
        link.setAttribute('download', attachment.name);
        // Images come with a preview URL: a small thumbnail, made by the server on first view.
        if (attachment.preview) {
          const thumbnail = Object.assign(document.createElement('img'), {
            src: `${attachment.preview}?size=64`,
            alt: '',
            className: 'thumbnail',
            loading: 'lazy',
          });
          name.append(thumbnail);
        }
        name.append(link);
        const type = Object.assign(document.createElement('td'), { textContent: attachment.mimetype });
        const size = Object.assign(document.createElement('td'), { textContent: formatSize(attachment.size), className: 'size' });
        const time = document.createElement('td');
        time.append(
          Object.assign(document.createElement('time'), {
            dateTime: attachment.updated,
            textContent: new Date(attachment.updated).toLocaleString(),
          }),
        );
        const actions = Object.assign(document.createElement('td'), { className: 'actions' });
        const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Delete' });
        remove.setAttribute('aria-label', `Delete ${attachment.name}`);
        remove.addEventListener('click', async () => {
          const response = await fetch(attachment.url, { method: 'DELETE' });
          if (!response.ok) showError((await response.json()).message);
          await refresh();
        });
        actions.append(remove);
        row.append(name, type, size, time, actions);
        return row;
      }),
    );
    empty.hidden = attachments.length > 0;
  }

  function upload(file) {
    const item = document.createElement('li');
    const label = Object.assign(document.createElement('span'), { textContent: file.name });
    const bar = Object.assign(document.createElement('progress'), { max: 100, value: 0 });
    bar.setAttribute('aria-label', `Uploading ${file.name}`);
    item.append(label, bar);
    progressList.append(item);
    const showProgress = (loaded, total) => (bar.value = Math.round((loaded / total) * 100));
    // Both resolve undefined when the file is stored, else the API's message, or null when the
    // answer is not our JSON (a proxy's page, a dropped connection).
    const sending = resumable.checked ? sendResumable(file, showProgress) : sendPlain(file, showProgress);
    return sending.then((failure) => {
      item.remove();
      if (failure !== undefined) showError(failure === null ? `Upload of ${file.name} failed` : `${file.name}: ${failure}`);
    });
  }

  const apiMessage = (body) => {
    try {
      return JSON.parse(body).message ?? null;
    } catch {
      return null;
    }
  };

  function sendPlain(file, showProgress) {
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open('POST', url);
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) showProgress(event.loaded, event.total);
      });
      request.addEventListener('loadend', () => resolve(request.status === 201 ? undefined : apiMessage(request.responseText)));
      const form = new FormData();
      form.append('file', file, file.name);
      request.send(form);
    });
  }

  // tus: the upload is created, then its bytes follow; after a dropped connection tus-js-client
  // asks the server how far it got and sends only the rest (retrying a few times), and picking
  // the same file again after a reload resumes it too (its URL is kept in localStorage).
  function sendResumable(file, showProgress) {
    return new Promise((resolve) => {
      const upload = new window.tus.Upload(file, {
        endpoint: new URL(`${url}/tus`, location.href).href,
        metadata: { filename: file.name, filetype: file.type },
        retryDelays: [0, 1000, 3000, 5000],
        removeFingerprintOnSuccess: true,
        onProgress: showProgress,
        onSuccess: () => resolve(undefined),
        onError: (error) => {
          const body = error.originalResponse?.getBody();
          resolve(body ? apiMessage(body) : null);
        },
      });
      upload.findPreviousUploads().then((previous) => {
        if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      });
    });
  }

  async function uploadAll(files) {
    showError('');
    await Promise.all([...files].map(upload));
    await refresh();
  }

  input.addEventListener('change', () => {
    uploadAll(input.files);
    input.value = '';
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    uploadAll(event.dataTransfer.files);
  });
  section.querySelector('.clear').addEventListener('click', async () => {
    await fetch(url, { method: 'DELETE' });
    await refresh();
  });
  return refresh;
}

// Signing in keeps the drafts: the server's login adopts this session's files for the user,
// whose files they then are on any device.
function setupAccount(refreshAll) {
  const who = document.querySelector('.account .who');
  const login = document.querySelector('.account .login');
  const logout = document.querySelector('.account .logout');
  const show = (user) => {
    who.textContent = user
      ? `Signed in as ${user}: the drafts are this user's, on any device.`
      : 'Not signed in: the drafts belong to this browser session.';
    login.hidden = Boolean(user);
    logout.hidden = !user;
  };
  login.addEventListener('click', async () => {
    const response = await fetch('/demo/login', { method: 'POST' });
    show((await response.json()).user);
    await refreshAll();
  });
  logout.addEventListener('click', async () => {
    await fetch('/demo/logout', { method: 'POST' });
    show(null);
    await refreshAll();
  });
  return async () => show((await (await fetch('/demo/me')).json()).user);
}

// Listing first gives this browser its session cookie before any parallel uploads start; the
// drafts list one after the other so that the first answer's cookie is the one both use.
const refreshers = [];
for (const section of document.querySelectorAll('.draft')) {
  const refresh = setupDraft(section);
  await refresh();
  refreshers.push(refresh);
}
await setupAccount(async () => {
  for (const refresh of refreshers) await refresh();
})();
document.body.dataset.ready = 'true';
