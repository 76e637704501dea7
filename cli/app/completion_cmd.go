package app

import (
	"fmt"
	"strings"
)

type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish,powershell" help:"Shell to print the script for: bash, zsh, fish or powershell."`
}

func (c *completionCmd) Help() string {
	return `The scripts ask 'flux-mirror __complete' for candidates, the protocol flux uses for plugins, so
'flux mirror <TAB>' completes the same way once flux-mirror is installed as a Flux plugin.

  bash:        source <(flux-mirror completion bash)
  zsh:         flux-mirror completion zsh > "${fpath[1]}/_flux-mirror"
  fish:        flux-mirror completion fish | source
  powershell:  flux-mirror completion powershell | Out-String | Invoke-Expression`
}

func (c *completionCmd) Run(e *env) error {
	script := map[string]string{
		"bash":       bashCompletion,
		"zsh":        zshCompletion,
		"fish":       fishCompletion,
		"powershell": powershellCompletion,
	}[c.Shell]
	fmt.Fprint(e.Stdout, strings.TrimLeft(script, "\n"))
	return nil
}

const bashCompletion = `
# bash completion for flux-mirror; source <(flux-mirror completion bash)
_flux_mirror_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" out directive line
    local -a cands=()
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
    directive=${out##*:}
    out=${out%:*}
    while IFS= read -r line; do
        [[ -n "$line" ]] && cands+=("${line%%$'\t'*}")
    done <<< "$out"
    if (( directive & 16 )); then
        COMPREPLY=($(compgen -d -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W "${cands[*]}" -- "$cur"))
    if (( ${#COMPREPLY[@]} == 0 )) && (( (directive & 4) == 0 )); then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    (( directive & 2 )) && compopt -o nospace 2>/dev/null
    return 0
}
complete -o filenames -F _flux_mirror_complete flux-mirror
`

const zshCompletion = `
#compdef flux-mirror
# zsh completion for flux-mirror; flux-mirror completion zsh > "${fpath[1]}/_flux-mirror"
_flux-mirror() {
    local out directive line
    local -a cands
    out=$(${words[1]} __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null) || return
    directive=${out##*:}
    out=${out%:*}
    for line in "${(@f)out}"; do
        [[ -n "$line" ]] || continue
        cands+=("${line%%$'\t'*}:${line#*$'\t'}")
    done
    if (( directive & 16 )); then
        _path_files -/
    elif (( ${#cands} > 0 )); then
        _describe 'flux-mirror' cands
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
if [[ "$funcstack[1]" = "_flux-mirror" ]]; then
    _flux-mirror "$@"
else
    compdef _flux-mirror flux-mirror
fi
`

const fishCompletion = `
# fish completion for flux-mirror; flux-mirror completion fish | source
function __flux_mirror_complete
    set -l args (commandline -opc)
    set -e args[1]
    set -l out (flux-mirror __complete $args (commandline -ct) 2>/dev/null)
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    for line in $out
        printf '%s\n' $line
    end
    if test (count $out) -eq 0; and test (math "$directive & 4") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c flux-mirror -f -a '(__flux_mirror_complete)'
`

const powershellCompletion = `
# powershell completion for flux-mirror; flux-mirror completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'flux-mirror' -ScriptBlock {
    param($WordToComplete, $CommandAst, $CursorPosition)
    $words = @($CommandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($WordToComplete -eq '') { $words += '' }
    $out = @(& flux-mirror __complete @words 2>$null)
    if ($out.Count -eq 0) { return }
    $directive = [int]($out[-1].TrimStart(':'))
    $out[0..($out.Count - 2)] | Where-Object { $_ -ne '' } | ForEach-Object {
        $parts = $_ -split "` + "`" + `t", 2
        $desc = if ($parts.Count -gt 1 -and $parts[1]) { $parts[1] } else { $parts[0] }
        [System.Management.Automation.CompletionResult]::new($parts[0], $parts[0], 'ParameterValue', $desc)
    }
}
`
