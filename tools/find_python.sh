#!/bin/sh
# Print the first Python on PATH that MXNet 1.9.1 has wheels for (3.8 to 3.11), newest first.
# With --explain, say instead (on stderr) why none was found and how to get one.
candidates="python3.11 python3.10 python3.9 python3.8 python3 python"
seen=""
for name in $candidates; do
    path=$(command -v "$name" 2>/dev/null) || continue
    version=$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    case "$version" in
        3.8|3.9|3.10|3.11)
            if [ "$1" != "--explain" ]; then echo "$path"; fi
            exit 0 ;;
    esac
    seen="$seen $name ($version)"
done
if [ "$1" = "--explain" ]; then
    echo "error: no Python 3.8 to 3.11 on PATH (found:${seen:- none}); mxnet==1.9.1, the last MXNet release, has wheels only for those. Install Python 3.11 (the OS package python3.11, \`pyenv install 3.11\`, or \`uv python install 3.11\`), then run make again, or give it: make PYTHON=/path/to/python3.11 <target>" >&2
fi
exit 1
