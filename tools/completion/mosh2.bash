# bash completion for mosh2, mosh2-server, mosh2-client and mosh2-status.
# Installed once per command name into share/bash-completion/completions, where
# bash-completion loads it on the first Tab after that name. The option lists follow
# each program's --help.

_mosh2_launcher() {
  local cur prev words cword
  _init_completion -s || return
  # After the host (or a --), the rest is the remote command.
  local i host_seen=0
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --) host_seen=1; break ;;
      -p | --port) ((i++)) ;;
      -*) ;;
      *) host_seen=1; break ;;
    esac
  done
  if ((host_seen)); then
    _command_offset $((i + 1))
    return
  fi
  case $prev in
    -p | --port) return ;;
  esac
  case $cur in
    --client=*) cur=${cur#*=}; _filedir; return ;;
    --predict=*)
      COMPREPLY=($(compgen -W 'adaptive always never experimental' -- "${cur#*=}")); return ;;
    --family=*)
      COMPREPLY=($(compgen -W 'inet inet6 auto all prefer-inet prefer-inet6' -- "${cur#*=}")); return ;;
    --bind-server=*)
      COMPREPLY=($(compgen -W 'ssh any' -- "${cur#*=}")); return ;;
    --server=* | --ssh=* | --port=*) return ;;
    -*)
      COMPREPLY=($(compgen -W '--client= --server= --ssh= --predict= -a -n -o --predict-overwrite
        -4 -6 --family= -p --port= --bind-server= --no-ssh-pty --no-init --local --help
        --version' -- "$cur"))
      [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
      return ;;
  esac
  _known_hosts_real -a -- "$cur"
}

_mosh2_server() {
  local cur prev words cword
  _init_completion || return
  local i
  for ((i = 1; i < cword; i++)); do
    if [[ ${words[i]} == -- ]]; then
      _command_offset $((i + 1))
      return
    fi
  done
  case $prev in
    -i) COMPREPLY=($(compgen -W "$(command ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
    -c) COMPREPLY=($(compgen -W '8 256' -- "$cur")); return ;;
    -p | -l) return ;;
  esac
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W 'new --help --version' -- "$cur"))
  else
    COMPREPLY=($(compgen -W '-s -v -i -p -c -l --' -- "$cur"))
  fi
}

_mosh2_client() {
  local cur prev words cword
  _init_completion || return
  case $prev in
    -#) return ;;
  esac
  [[ $cur == -* ]] && COMPREPLY=($(compgen -W '-v -c -# --help --version' -- "$cur"))
}

_mosh2_status() {
  local cur prev words cword
  _init_completion || return
  case $prev in
    --dir) _filedir -d; return ;;
    --pid) COMPREPLY=($(compgen -W "$(pgrep -u "$(id -u)" -x mosh2-server 2>/dev/null)" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W '--dir --pid --keep-stale --help --version' -- "$cur"))
}

complete -F _mosh2_launcher mosh2
complete -F _mosh2_server mosh2-server
complete -F _mosh2_client mosh2-client
complete -F _mosh2_status mosh2-status
