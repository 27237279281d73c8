# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for memhotplugctl(1)

_memhotplugctl()
{
        local cur prev words cword
        _init_completion -s || return

        local commands='status list plan devices map metrics online offline rezone revert unplug cancel reload rescan doctor help'
        local options='-h --help --version --json --json= -a --all -o --output= -b --bytes -z --zone= --color --color= --no-color --root= --no-pager'

        case $prev in
        -z | --zone)
                COMPREPLY=($(compgen -W 'movable kernel auto' -- "$cur"))
                return
                ;;
        --root)
                _filedir -d
                return
                ;;
        --color)
                if [[ $split == true ]]; then
                        COMPREPLY=($(compgen -W 'always never auto' -- "$cur"))
                        return
                fi
                ;;
        --json)
                # Its argument is optional, so only "--json=MODE" takes one, never "--json MODE".
                if [[ $split == true ]]; then
                        COMPREPLY=($(compgen -W 'pretty short' -- "$cur"))
                        return
                fi
                ;;
        esac
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$options" -- "$cur"))
                [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
                return
        fi

        # The command is the first word that is not an option (or the value of -z).
        local i command=
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                -z | --zone | --root) ((i++)) ;;
                -*) ;;
                *)
                        command=${words[i]}
                        break
                        ;;
                esac
        done

        if [[ -z $command ]]; then
                COMPREPLY=($(compgen -W "$commands" -- "$cur"))
                return
        fi
        # Block numbers are the daemon's to know; we do not read sysfs here either.
}

complete -F _memhotplugctl memhotplugctl
