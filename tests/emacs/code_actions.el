;;; code_actions.el --- Emacs with its own LSP client (eglot) runs agentls -*- lexical-binding: t -*-
;;
;; Run by tests/tests/emacs.rs as `emacs --batch -Q -l code_actions.el`: opens
;; AGENTLS_TEST_FILE in a `rust-mode' of its own (Emacs 28 ships none), starts
;; agentls through `eglot-server-programs' as docs/editors/other.md says, asks
;; eglot for the code actions at line 2 (`eglot-code-actions', the function
;; behind M-x eglot-code-actions), runs "Agent: Explain this" with
;; `eglot-execute-command', waits for the answer's message, and writes what it
;; saw as JSON to AGENTLS_TEST_REPORT.

(require 'eglot)
(require 'json)

(defvar agentls-test-report (list))
(defvar agentls-test-messages (list))

(defun agentls-test-note (key value)
  (setq agentls-test-report (plist-put agentls-test-report key value)))

(defun agentls-test-finish (code)
  (agentls-test-note :messages (vconcat (reverse agentls-test-messages)))
  ;; On failure, eglot's own record of the JSON-RPC exchange, and what the
  ;; server sent that jsonrpc has not parsed yet (see tests/tests/emacs.rs).
  (let ((server (ignore-errors (eglot-current-server))))
    (when (and server (/= code 0))
      (agentls-test-note :events (or (ignore-errors
                                       (with-current-buffer (jsonrpc-events-buffer server)
                                         (buffer-substring-no-properties (point-min) (point-max))))
                                     "(no events buffer)"))
      (agentls-test-note :unread (with-current-buffer (process-buffer (jsonrpc--process server))
                                   (buffer-substring-no-properties (point-min) (point-max))))))
  (with-temp-file (getenv "AGENTLS_TEST_REPORT")
    (insert (json-encode agentls-test-report)))
  (kill-emacs code))

(defun agentls-test-wait (what seconds predicate)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall predicate)
      (agentls-test-note :error (format "timed out waiting for %s" what))
      (agentls-test-finish 1))))

;; What the server shows with window/showMessage reaches `message'.
(advice-add 'eglot--message :before
            (lambda (format &rest args)
              (push (apply #'format format args) agentls-test-messages)))

(define-derived-mode rust-mode prog-mode "Rust")
(add-to-list 'auto-mode-alist '("\\.rs\\'" . rust-mode))
(setq eglot-server-programs '((rust-mode . ("agentls"))))

(condition-case err
    (progn
      (find-file (getenv "AGENTLS_TEST_FILE"))
      (eglot-ensure)
      ;; `eglot-ensure' connects from `post-command-hook' in interactive use.
      (run-hooks 'post-command-hook)
      (agentls-test-wait "the server" 20 #'eglot-current-server)
      (let ((server (eglot-current-server)))
        (agentls-test-wait "initialize" 20
                           (lambda () (eglot--capabilities server)))
        (agentls-test-note :server_name (plist-get (eglot--server-info server) :name))
        (agentls-test-note
         :commands (plist-get (plist-get (eglot--capabilities server) :executeCommandProvider)
                              :commands))
        (goto-char (point-min))
        (forward-line 1)
        (let* ((actions (eglot-code-actions (point) (point)))
               (titles (mapcar (lambda (action) (plist-get action :title)) actions))
               (explain (seq-find (lambda (action)
                                    (equal (plist-get action :title) "Agent: Explain this"))
                                  actions)))
          (agentls-test-note :titles (vconcat titles))
          (unless explain
            (agentls-test-note :error "no Agent: Explain this")
            (agentls-test-finish 1))
          (let ((command (plist-get explain :command)))
            (eglot-execute-command server
                                   (plist-get command :command)
                                   (plist-get command :arguments)))
          (agentls-test-wait "the answer" 30
                             (lambda ()
                               (seq-find (lambda (message) (string-match-p "Explain this: " message))
                                         agentls-test-messages)))))
      (agentls-test-finish 0))
  (error
   (agentls-test-note :error (error-message-string err))
   (agentls-test-finish 1)))
