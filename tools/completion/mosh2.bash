# bash completion for mosh2, mosh2-server, mosh2-client and mosh2-status.
# Installed once per command name into share/bash-completion/completions, where
# bash-completion loads it on the first Tab after that name. The option and value lists
# are each program's --help; test/integration/completion.py runs these functions under
# bash-completion and fails when a list and the --help of the built program differ.

# The launcher's options, and those of them that take a value (as a separate word or
# after =).
_mosh2_launcher_options='-J --jump= --client= --server= --ssh= --ssh-pty --no-ssh-pty --predict= -a -n -o
  --predict-overwrite --no-predict-overwrite -4 -6 --family= -p --port= --bind-server=
  --experimental-remote-ip= --idle-timeout= --attach --attach= --name= --no-detached-notice --history= --no-history --udp-timeout= --transport= --no-init
  --local --allow-no-tty --help --version'
_mosh2_launcher_takes_value='-p -J --jump --port --client --server --ssh --predict --family --bind-server
  --experimental-remote-ip --idle-timeout --name --history --udp-timeout --transport'

_mosh2_launcher() {
  local cur prev words cword split
  _init_completion -s || return
  # Options may follow the host; the first other word after it starts the remote
  # command, and so does a -- after the host. A -- before the host ends the options.
  local i host_at=0 ended=0 w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    if [[ $w == -- ]] && ((!ended || host_at)); then
      if ((host_at)); then
        _command_offset $((i + 1))
        return
      fi
      ended=1
      continue
    fi
    if ((!ended)) && [[ $w == -* ]]; then
      [[ $w != *=* && " ${_mosh2_launcher_takes_value//$'\n'/ } " == *" $w "* ]] && ((i++))
      continue
    fi
    if ((host_at)); then
      _command_offset "$i"
      return
    fi
    host_at=$i
  done
  case $prev in
    --predict)
      COMPREPLY=($(compgen -W 'adaptive always never experimental' -- "$cur")); return ;;
    --family)
      COMPREPLY=($(compgen -W 'inet inet6 auto all prefer-inet prefer-inet6' -- "$cur")); return ;;
    --transport)
      COMPREPLY=($(compgen -W 'udp tcp auto' -- "$cur")); return ;;
    --bind-server)
      COMPREPLY=($(compgen -W 'ssh any' -- "$cur")); return ;;
    --experimental-remote-ip)
      COMPREPLY=($(compgen -W 'proxy local remote' -- "$cur")); return ;;
    --client) _filedir; return ;;
    -p | --port | -J | --jump | --server | --ssh | --idle-timeout | --name | --history | --udp-timeout) return ;;
  esac
  if ((!ended)) && [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_mosh2_launcher_options" -- "$cur"))
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
    return
  fi
  if ((host_at)); then
    _command_offset "$cword"
    return
  fi
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
    -p | -l | --idle-timeout | --name | --history) return ;;
  esac
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W 'new attach stream-relay relay --help --version' -- "$cur"))
  elif [[ ${words[1]} == new ]]; then
    COMPREPLY=($(compgen -W '-s -v -i -p -c -l --idle-timeout --name --history --relay-end --' -- "$cur"))
  elif [[ ${words[1]} == relay ]]; then
    COMPREPLY=($(compgen -W '-i -p -f --idle-timeout --end-token-stdin' -- "$cur"))
  fi
}

_mosh2_client() {
  local cur prev words cword
  _init_completion || return
  case $prev in
    -#) return ;;
  esac
  [[ $cur == -* ]] && COMPREPLY=($(compgen -W '-v -c -# --no-history --help --version' -- "$cur"))
}

_mosh2_status() {
  local cur prev words cword
  _init_completion || return
  case $prev in
    --dir) _filedir -d; return ;;
    --pid) COMPREPLY=($(compgen -W "$(pgrep -u "$(id -u)" -x mosh2-server 2>/dev/null)" -- "$cur")); return ;;
    --detached-for) return ;;
  esac
  local i kill=0
  for ((i = 1; i < cword; i++)); do
    [[ ${words[i]} == kill ]] && kill=1
  done
  if ((kill)); then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W '--detached-for --dry-run --dir -v --verbose' -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(pgrep -u "$(id -u)" -x mosh2-server 2>/dev/null)" -- "$cur"))
    fi
  elif ((cword == 1)) && [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -W 'kill' -- "$cur"))
  else
    COMPREPLY=($(compgen -W '--json --brief --pid --dir --keep-stale -v --verbose --help --version' -- "$cur"))
  fi
}

complete -F _mosh2_launcher mosh2
complete -F _mosh2_server mosh2-server
complete -F _mosh2_client mosh2-client
complete -F _mosh2_status mosh2-status
