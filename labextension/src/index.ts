/**
 * Dockerfile highlighting for `%%dockerfile` cells in JupyterLab 4 and Notebook 7.
 *
 * A notebook gives every code cell the kernel's language (Python). This plugin registers a
 * "dockmagic Dockerfile" language (CodeMirror's Dockerfile mode, with the `%%dockerfile` magic line
 * kept readable) and switches a code cell to it while the cell's first line is a `%%dockerfile` magic,
 * and back to the kernel's language when it no longer is. Only the cell's editor language changes:
 * nothing is written into the notebook file.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import type { ICellModel } from '@jupyterlab/cells';
import { LanguageSupport, StreamLanguage, StreamParser, StringStream } from '@codemirror/language';
import { dockerFile } from '@codemirror/legacy-modes/mode/dockerfile';

/** The editor MIME type of a `%%dockerfile` cell. */
export const DOCKERFILE_CELL_MIME = 'text/x-dockmagic-dockerfile';

/** A cell is a Dockerfile cell when its first line calls the `%%dockerfile` cell magic. */
const DOCKERFILE_MAGIC = /^%%dockerfile(?:\s|$)/;

export function isDockerfileCell(source: string): boolean {
  return DOCKERFILE_MAGIC.test(source);
}

interface MagicCellState {
  /** Still on the cell's first line, where the `%%dockerfile` magic and its options are. */
  onMagicLine: boolean;
  inner: unknown;
}

const dockerfileParser = dockerFile as StreamParser<unknown>;

/** CodeMirror's Dockerfile mode, except that the magic line is a `meta` token and its options plain text. */
const dockerfileCellParser: StreamParser<MagicCellState> = {
  name: 'dockerfile',
  startState: indentUnit => ({ onMagicLine: true, inner: dockerfileParser.startState!(indentUnit) }),
  copyState: state => ({
    onMagicLine: state.onMagicLine,
    inner: dockerfileParser.copyState ? dockerfileParser.copyState(state.inner) : state.inner
  }),
  blankLine: state => {
    state.onMagicLine = false;
  },
  token: (stream: StringStream, state: MagicCellState) => {
    if (state.onMagicLine) {
      if (stream.sol() && stream.match(/^%%\S+/)) {
        state.onMagicLine = !stream.eol();
        return 'meta';
      }
      if (!stream.sol()) {
        stream.skipToEnd();
        state.onMagicLine = false;
        return null;
      }
      state.onMagicLine = false;
    }
    return dockerfileParser.token(stream, state.inner);
  },
  languageData: dockerfileParser.languageData
};

/** Keeps one code cell's editor language in step with its first line. */
function followCell(cell: ICellModel, notebook: Notebook, followed: WeakSet<ICellModel>): void {
  if (cell.type !== 'code' || followed.has(cell)) {
    return;
  }
  followed.add(cell);
  const update = () => {
    if (cell.isDisposed) {
      return;
    }
    const dockerfile = isDockerfileCell(cell.sharedModel.getSource());
    if (dockerfile && cell.mimeType !== DOCKERFILE_CELL_MIME) {
      cell.mimeType = DOCKERFILE_CELL_MIME;
    } else if (!dockerfile && cell.mimeType === DOCKERFILE_CELL_MIME) {
      cell.mimeType = notebook.codeMimetype;
    }
  };
  cell.sharedModel.changed.connect(update);
  // The notebook gives every code cell the kernel's language again when the kernel's answer arrives.
  cell.mimeTypeChanged.connect(update);
  update();
}

function followNotebook(panel: NotebookPanel): void {
  const followed = new WeakSet<ICellModel>();
  const notebook = panel.content;
  const followModel = () => {
    const model = notebook.model;
    if (!model) {
      return;
    }
    for (const cell of model.cells) {
      followCell(cell, notebook, followed);
    }
    model.cells.changed.connect((_, change) => {
      for (const cell of change.newValues) {
        followCell(cell, notebook, followed);
      }
    });
  };
  notebook.modelChanged.connect(followModel);
  followModel();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'dockmagic-highlight:plugin',
  description: 'Dockerfile highlighting for %%dockerfile cells.',
  autoStart: true,
  requires: [INotebookTracker, IEditorLanguageRegistry],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker, languages: IEditorLanguageRegistry) => {
    languages.addLanguage({
      name: 'dockmagic-dockerfile',
      displayName: 'Dockerfile (%%dockerfile cell)',
      mime: DOCKERFILE_CELL_MIME,
      load: async () => new LanguageSupport(StreamLanguage.define(dockerfileCellParser))
    });
    tracker.forEach(followNotebook);
    tracker.widgetAdded.connect((_, panel) => followNotebook(panel));
  }
};

export default plugin;
