/** 'compiled' when dist/ is built and no pipeline/ source changed since, else 'sources'. */
export function chooseRunner(root: string): 'compiled' | 'sources';
